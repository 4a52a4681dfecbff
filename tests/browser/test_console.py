"""The web console at /ui in a real browser (Debian's Chromium, headless): every page loads
without a console error, shows the models and numbers the REST API returns and draws its
charts; an alias moves only with the admin token; the pages stay usable with thousands of
versions and hundreds of features."""
import csv
import re
import subprocess

import numpy as np
import pytest
import requests
from playwright.sync_api import expect

from conftest import integration

BINARY, DATA = integration.BINARY, integration.DATA
TOKEN = "console-test-token"
MLFLOW = "/api/2.0/mlflow"
MANY_VERSIONS = 2000
WIDE_FEATURES = 300
LIVE_BLUE = (0x2C, 0x5F, 0xD6)  # charts.js: the live window's bars, the first line's colour


def train(store, data, name, *extra, rounds=10):
    p = subprocess.run([str(BINARY), "--store", store, "train", "--data", str(data),
                        "--target", "target", "--register", name, "--num-rounds", str(rounds),
                        "--seed", "7", *extra], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr


def infer(url, model, rows):
    body = {"inputs": [{"name": "input__0", "shape": [len(rows), len(rows[0])],
                        "datatype": "FP32", "data": np.asarray(rows).ravel().tolist()}]}
    r = requests.post(f"{url}/v2/models/{model}/infer", json=body, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A registry server with: `cancer` trained twice (v1 @production, v2 @candidate),
    drifted traffic and ground truth on v1; `wide` with 300 features; `many` with 2,000
    versions. The admin token is set."""
    tmp = tmp_path_factory.mktemp("console")
    store = f"sqlite:///{tmp}/inferd.db"
    train(store, DATA / "breast_cancer.csv", "cancer", "--alias", "production")
    train(store, DATA / "breast_cancer.csv", "cancer", "--alias", "candidate", "--max-depth", "3")
    rng = np.random.default_rng(0)
    wide = tmp / "wide.csv"
    with wide.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow([f"f{i:03d}" for i in range(WIDE_FEATURES)] + ["target"])
        for _ in range(300):
            row = rng.normal(size=WIDE_FEATURES)
            out.writerow([f"{v:.5f}" for v in row] + [int(row[0] + row[1] > 0)])
    train(store, wide, "wide", "--alias", "production", rounds=2)
    add_versions(store, tmp, "many", MANY_VERSIONS)
    server = integration.InferdServer(
        ["--host", "127.0.0.1", "--port", "0", "--store", store, "--spool-dir", str(tmp / "spool"),
         "--drift-window-rows", "200", "--drift-min-rows", "50"],
        env={"INFERD_ADMIN_TOKEN": TOKEN})
    try:
        server.wait_ready()
        url = server.url
        # Drifted traffic on cancer v1 (every feature x1.5), with ground truth for each row.
        _, rows = integration.read_csv("breast_cancer")
        labels = np.loadtxt(DATA / "breast_cancer.csv", delimiter=",", skiprows=1, usecols=30)
        for start in range(0, 200, 25):
            answer = infer(url, "cancer", (np.array(rows[start:start + 25]) * 1.5).tolist())
            fb = requests.post(url + "/v1/feedback", json={
                "prediction_id": answer["parameters"]["prediction_id"],
                "ground_truth": labels[start:start + 25].tolist()})
            assert fb.json()["joined"] is True
        # wide: rows from its own distribution, the first ten features shifted.
        live = rng.normal(size=(100, WIDE_FEATURES))
        live[:, :10] += 2
        infer(url, "wide", live.tolist())
        yield url
    finally:
        server.stop()


def add_versions(store, tmp, name, count):
    """Registers `count` versions of cancer v1's model file as model `name`, through MLflow's
    API on a server that serves a (empty) model folder: a registry server would reload the
    model after each new version."""
    empty = tmp / "empty-repository"
    empty.mkdir()
    loader = integration.InferdServer(
        ["--host", "127.0.0.1", "--port", "0", "--store", store, "--spool-dir",
         str(tmp / "loader-spool"), "--model-repository", str(empty)])
    try:
        loader.wait_ready()
        mlflow = requests.Session()
        source = mlflow.get(loader.url + f"{MLFLOW}/model-versions/get",
                            params={"name": "cancer", "version": "1"}).json()
        source = source["model_version"]["source"]
        assert mlflow.post(loader.url + f"{MLFLOW}/registered-models/create",
                           json={"name": name}).status_code == 200
        for _ in range(count):
            r = mlflow.post(loader.url + f"{MLFLOW}/model-versions/create",
                            json={"name": name, "source": source})
            assert r.status_code == 200, r.text
    finally:
        assert loader.stop() == 0


def api(site, path, **kwargs):
    r = requests.get(site + path, timeout=30, **kwargs)
    assert r.status_code == 200, r.text
    return r.json()


def shown(text):
    """A number as the console prints it (console.js num): back to a float."""
    text = text.strip().replace(",", "")
    return float(text.rstrip("%"))


def close(text, value, digits=4):
    return abs(shown(text) - value) <= 0.5 * 10 ** (1 - digits) * max(abs(value), 1e-300) * 1.0001


def painted(page, selector, rgb=None):
    """Pixels a chart's canvas has painted (of colour `rgb` when given)."""
    return page.eval_on_selector(selector + " canvas", """(canvas, rgb) => {
        const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 0; i < data.length; i += 4) {
          if (data[i + 3] === 0) continue;
          if (!rgb || (Math.abs(data[i] - rgb[0]) < 8 && Math.abs(data[i + 1] - rgb[1]) < 8 &&
                       Math.abs(data[i + 2] - rgb[2]) < 8)) n++;
        }
        return n;
    }""", list(rgb) if rgb else None)


def test_assets_are_served_from_the_binary(site):
    page = requests.get(site + "/ui")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    for src in re.findall(r'(?:src|href)="(/ui/[^"]+)"', page.text):
        asset = requests.get(site + src)
        assert asset.status_code == 200 and len(asset.content) > 500, src
    assert "uPlot" in requests.get(site + "/ui/uPlot.iife.min.js").text
    assert requests.get(site + "/ui/").status_code == 200
    assert requests.get(site + "/ui/nothing.js").status_code == 404


def test_models_page_shows_what_the_api_says(site, console):
    page = console.page
    page.goto(site + "/ui#/models")
    row = page.locator('tr[data-model="cancer"]')
    expect(row).to_contain_text("READY")
    meta = api(site, "/v2/models/cancer")
    assert meta["parameters"]["version"] == "1"
    expect(row.locator(".default-version")).to_have_text("v1")
    expect(row).to_contain_text(meta["platform"])
    expect(row).to_contain_text(meta["parameters"]["runtime"])
    expect(row).to_contain_text("@production → v1")
    expect(row).to_contain_text("@candidate → v2")
    expect(page.locator('tr[data-model="many"]')).to_contain_text(f"v{MANY_VERSIONS}")
    expect(page.locator('tr[data-model="wide"]')).to_contain_text("READY")
    console.screenshot("console-models")
    # The filter narrows the table without losing it on the next refresh.
    page.fill('input[aria-label="filter models"]', "wid")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator('tr[data-model="wide"]')).to_be_visible()


def test_model_page_pages_through_thousands_of_versions(site, console):
    page = console.page
    page.goto(site + "/ui#/models/many")
    versions = page.locator(".registry-versions tr[data-version]")
    expect(versions).to_have_count(50)
    expect(versions.first).to_contain_text(f"v{MANY_VERSIONS}")
    expect(page.get_by_text("page 1", exact=True)).to_be_visible()
    console.screenshot("console-model")
    page.get_by_role("button", name="Older ›").click()
    expect(page.get_by_text("page 2", exact=True)).to_be_visible()
    expect(versions.first).to_contain_text(f"v{MANY_VERSIONS - 50}")
    # Served: the latest version (the registry source loads aliased and latest versions).
    served = page.locator(".served-versions tr[data-version]")
    expect(served).to_have_attribute("data-version", str(MANY_VERSIONS))
    expect(served).to_contain_text("serves /v2/models/many")
    page.fill('input[aria-label="go to version"]', "1234")
    page.get_by_role("button", name="Open").click()
    expect(page.locator("h1")).to_contain_text("version 1234")


def test_version_page_shows_lineage_and_tags(site, console):
    page = console.page
    lineage = api(site, "/v1/models/cancer/versions/1/lineage")
    assert lineage["dataset"]["md5"] and lineage["metrics"] and lineage["params"]
    page.goto(site + "/ui#/models/cancer/versions/1")
    expect(page.locator(".dataset-md5")).to_have_text(lineage["dataset"]["md5"])
    expect(page.locator(".dataset-name")).to_have_text(lineage["dataset"]["name"])
    expect(page.locator(".dataset-version")).to_have_text(str(lineage["dataset"]["version"]))
    for key, value in lineage["metrics"].items():
        cell = page.locator(f'tr[data-metric="{key}"] td').nth(1)
        expect(cell).not_to_be_empty()
        assert close(cell.inner_text(), value, digits=6), (key, cell.inner_text(), value)
    for key, value in lineage["params"].items():
        expect(page.locator(f'tr[data-param="{key}"]')).to_contain_text(value)
    expect(page.locator("dd.aliases")).to_contain_text("@production")
    expect(page.get_by_text("serves /v2/models/cancer")).to_be_visible()
    expect(page.locator("main")).to_contain_text(lineage["source"])
    console.screenshot("console-version")


def test_drift_page_sorts_features_worst_first_and_draws(site, console):
    page = console.page
    report = api(site, "/v1/models/cancer/drift")
    assert report["window_rows"] == 200 and report["dataset_drift"] is True
    page.goto(site + "/ui#/models/cancer/drift")
    rows = page.locator("tr[data-feature]")
    expect(rows).to_have_count(len(report["features"]))
    t = report["thresholds"]
    worst = sorted(report["features"], key=lambda f: (not f["drift"], -f["psi"] / t["psi"], f["name"]))
    names = [rows.nth(i).get_attribute("data-feature") for i in range(5)]
    assert names == [f["name"] for f in worst[:5]]
    for f in worst[:5]:
        cells = page.locator(f'tr[data-feature="{f["name"]}"] td')
        assert close(cells.nth(2).inner_text(), f["psi"]), f["name"]
        assert close(cells.nth(3).inner_text(), f["ks"]), f["name"]
        expect(cells.nth(1)).to_have_text("drift" if f["drift"] else "no drift")
    expect(page.locator(".cards")).to_contain_text("200")
    # Charts: the worst feature's and the prediction's histograms, live bars drawn.
    page.wait_for_function("document.querySelectorAll('.uplot canvas').length >= 2")
    assert painted(page, ".grid2 section:nth-child(1) .chart", LIVE_BLUE) > 200
    assert painted(page, ".grid2 section:nth-child(2) .chart", LIVE_BLUE) > 200
    expect(page.locator(".grid2 section:nth-child(2)")).to_contain_text(worst[0]["name"])
    # Another feature's histogram on click.
    other = worst[-1]["name"]
    page.locator(f'tr[data-feature="{other}"]').click()
    expect(page.locator(".grid2 section:nth-child(2)")).to_contain_text(other)
    console.screenshot("console-drift")


def test_drift_page_with_hundreds_of_features(site, console):
    page = console.page
    report = api(site, "/v1/models/wide/drift")
    assert len(report["features"]) == WIDE_FEATURES
    page.goto(site + "/ui#/models/wide/drift")
    expect(page.locator("tr[data-feature]")).to_have_count(WIDE_FEATURES)
    # The shifted features (f000..f009) come first.
    first = {page.locator("tr[data-feature]").nth(i).get_attribute("data-feature") for i in range(10)}
    assert first == {f"f{i:03d}" for i in range(10)}
    page.fill('input[aria-label="filter features"]', "f29")
    expect(page.locator("tr[data-feature]")).to_have_count(10)


def test_performance_page_shows_the_live_windows(site, console):
    page = console.page
    report = api(site, "/v1/models/cancer/performance")
    version = next(v for v in report["versions"] if v["version"] == "1")
    assert version["rows"] == 200
    page.goto(site + "/ui#/models/cancer/performance")
    row = page.locator('tr[data-version="1"]')
    expect(row).to_contain_text("binary")
    cells = row.locator("td")
    expect(cells.nth(2)).to_have_text("200")
    headers = page.locator("thead th").all_inner_texts()
    for name, value in version["metrics"].items():
        assert close(cells.nth(headers.index(name)).inner_text(), value), name
    # A chart per metric and one of labelled rows, drawn from the second sample on.
    expect(page.locator('section[data-metric="auc"] canvas')).to_have_count(1, timeout=60_000)
    # Two samples seconds apart on a minute-wide axis: a short line, but in the series colour.
    assert painted(page, 'section[data-metric="labelled rows"] .chart', LIVE_BLUE) > 20
    assert painted(page, 'section[data-metric="auc"] .chart', LIVE_BLUE) > 20
    console.screenshot("console-performance")


def production(site):
    return api(site, f"{MLFLOW}/registered-models/get", params={"name": "cancer"}
               )["registered_model"]["aliases"]


def test_alias_move_needs_the_token_then_switches_serving(site, console):
    page = console.page
    # The refusals the browser logs are the ones this test provokes.
    console.allow(lambda e: "status of 401" in e and "registered-models/alias" in e)
    console.allow(lambda e: "status of 403" in e and "registered-models/alias" in e)
    page.goto(site + "/ui#/models/cancer/versions/2")
    expect(page.locator("dd.aliases")).to_contain_text("@candidate")
    page.fill("#alias-name", "production")
    page.click("#move-alias")
    dialog = page.locator("dialog#confirm")
    expect(dialog).to_contain_text("Point @production of model cancer at version 2?")
    expect(dialog).to_contain_text("points at version 1 now")
    console.screenshot("console-alias-confirm")
    # No token: refused, nothing moved, the dialog asks for one.
    page.click("#confirm-ok")
    expect(page.locator("#confirm-token")).to_be_visible()
    expect(page.locator("#confirm-error")).to_contain_text("admin token")
    assert {"alias": "production", "version": "1"} in production(site)
    # A wrong token: refused too.
    page.fill("#token", "not-the-token")
    page.click("#confirm-ok")
    expect(page.locator("#confirm-token-why")).to_have_text("The server refused this token.")
    assert {"alias": "production", "version": "1"} in production(site)
    # The right one: moved, and the unversioned URL serves version 2.
    page.fill("#token", TOKEN)
    page.click("#confirm-ok")
    expect(dialog).not_to_be_visible()
    expect(page.locator(".toast")).to_contain_text("@production now points at version 2")
    assert {"alias": "production", "version": "2"} in production(site)
    assert api(site, "/v2/models/cancer")["parameters"]["version"] == "2"
    expect(page.locator("dd.aliases")).to_contain_text("@production")
    expect(page.get_by_text("serves /v2/models/cancer")).to_be_visible()
    # Cancelling changes nothing.
    page.fill("#alias-name", "candidate")
    page.click("#move-alias")
    page.click("#confirm-cancel")
    expect(dialog).not_to_be_visible()
    assert {"alias": "candidate", "version": "2"} in production(site)
    # Put production back for the other tests.
    back = requests.post(site + f"{MLFLOW}/registered-models/alias",
                         headers={"Authorization": f"Bearer {TOKEN}"},
                         json={"name": "cancer", "alias": "production", "version": "1"})
    assert back.status_code == 200

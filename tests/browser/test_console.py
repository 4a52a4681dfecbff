"""The web console at /ui in a real browser (Debian's Chromium, headless): every page loads
without a console error, shows the models and numbers the REST API returns and draws its
charts; an alias moves only with the admin token; the pages stay usable with thousands of
versions and hundreds of features."""
import re

import requests
from playwright.sync_api import expect

from conftest import MANY_VERSIONS, MLFLOW, TOKEN, WIDE_FEATURES, close, painted

LIVE_BLUE = (0x2C, 0x5F, 0xD6)  # charts.js: the live window's bars, the first line's colour


def api(site, path, **kwargs):
    r = requests.get(site + path, timeout=30, **kwargs)
    assert r.status_code == 200, r.text
    return r.json()


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
    # A chart per metric and one of labelled rows: the server's history, then the window now.
    assert version["history"] and version["history"][-1]["rows"] <= 200
    expect(page.locator('section[data-metric="auc"] canvas')).to_have_count(1)
    # Points seconds apart on a minute-wide axis: a short line, but in the series colour.
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

"""Fixtures for the console's browser tests: Debian's Chromium, driven headless by
Playwright (never a browser Playwright downloads), against the real inferd binary.

Every page a test opens records the browser console; a test fails when the page logged an
error or threw, unless the test names the error it expects. Screenshots go to
INFERD_SCREENSHOT_DIR (default build/screenshots), which CI keeps as an artifact."""
import csv
import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import requests
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
# The integration tests' server runner, loaded under its own name (both files are conftest.py).
_spec = importlib.util.spec_from_file_location(
    "integration_conftest", ROOT / "tests" / "integration" / "conftest.py")
integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(integration)

CHROMIUM = os.environ.get("INFERD_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("INFERD_SCREENSHOT_DIR", ROOT / "build" / "screenshots"))
VIEWPORT = {"width": 1366, "height": 900}
BINARY, DATA = integration.BINARY, integration.DATA
TOKEN = "console-test-token"
MLFLOW = "/api/2.0/mlflow"
MANY_VERSIONS = 2000
WIDE_FEATURES = 300


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


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-deps.sh (Debian's chromium)")
    with sync_playwright() as p:
        # Root in a container has no user namespaces for Chromium's sandbox, and a
        # container's /dev/shm is often too small for its shared memory.
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


class ConsolePage:
    """A browser tab with its console errors collected."""

    def __init__(self, page):
        self.page = page
        self.errors = []
        self.allowed = []  # predicates over error texts a test expects
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def _console(self, message):
        if message.type == "error":
            where = message.location.get("url", "")
            self.errors.append(f"{message.text} ({where})")

    def allow(self, predicate):
        self.allowed.append(predicate)

    def unexpected_errors(self):
        return [e for e in self.errors if not any(ok(e) for ok in self.allowed)]

    def screenshot(self, name):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def console(browser):
    context = browser.new_context(viewport=VIEWPORT)
    page = ConsolePage(context.new_page())
    page.page.set_default_timeout(30_000)
    yield page
    context.close()
    assert page.unexpected_errors() == [], "the browser console logged errors"


def shown(text):
    """A number as the console prints it (console.js num): back to a float."""
    text = text.strip().replace(",", "")
    return float(text.rstrip("%"))


def close(text, value, digits=4):
    """Whether `text`, a number as the console prints it, is `value` to `digits` digits."""
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

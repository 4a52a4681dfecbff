"""The console's experiments and runs pages over MLflow's tracking API, with runs logged by
MLflow's own client: runs side by side with their parameters and latest metrics, metric
histories drawn, and the run that produced a model version linked both ways."""
import math
import os

import pytest
import requests
from playwright.sync_api import expect

from conftest import close, integration, painted

os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402

DEPTHS = (3, 4, 6)
STEPS = 20
FIRST_LINE = (0x2C, 0x5F, 0xD6)  # charts.js: the first series' colour


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    """A server with experiment `tuning`: three finished runs logging params and per-step
    metrics, and model `tuned` version 1 registered from the depth-4 run."""
    tmp = tmp_path_factory.mktemp("tracking")
    server = integration.InferdServer(
        ["--host", "127.0.0.1", "--port", "0", "--store", f"sqlite:///{tmp}/inferd.db",
         "--spool-dir", str(tmp / "spool")])
    try:
        server.wait_ready()
        mlflow.set_tracking_uri(server.url)
        experiment = mlflow.set_experiment("tuning")
        runs = {}
        for depth in DEPTHS:
            with mlflow.start_run(run_name=f"depth-{depth}") as run:
                mlflow.log_params({"max_depth": depth, "eta": 0.3})
                for step in range(STEPS):
                    mlflow.log_metric("valid_auc", 0.9 + 0.01 * depth * (1 - math.exp(-step / 4)),
                                      step=step)
                runs[depth] = run.info.run_id
        client = MlflowClient(server.url)
        client.create_registered_model("tuned")
        client.create_model_version("tuned", f"mlflow-artifacts:/tuned/{runs[4]}", run_id=runs[4])
        yield server.url, experiment.experiment_id, runs
    finally:
        server.stop()


def test_experiments_list_and_runs_side_by_side(tracked, console):
    url, experiment_id, runs = tracked
    page = console.page
    page.goto(url + "/ui#/experiments")
    page.locator('tr[data-experiment="tuning"] a').click()
    expect(page.locator("h1")).to_contain_text("tuning")
    found = requests.post(url + "/api/2.0/mlflow/runs/search",
                          json={"experiment_ids": [experiment_id]}).json()["runs"]
    assert len(found) == len(DEPTHS)
    for run in found:
        row = page.locator(f'tr[data-run="{run["info"]["run_id"]}"]')
        expect(row).to_contain_text(run["info"]["run_name"])
        expect(row).to_contain_text("FINISHED")
        params = {p["key"]: p["value"] for p in run["data"]["params"]}
        expect(row).to_contain_text(params["max_depth"])
        auc = next(m["value"] for m in run["data"]["metrics"] if m["key"] == "valid_auc")
        headers = page.locator(".runs thead th").all_inner_texts()
        assert close(row.locator("td").nth(headers.index("valid_auc")).inner_text(), auc)
    # The history of every run (none ticked: the first five) is drawn.
    page.wait_for_function("document.querySelectorAll('.uplot canvas').length >= 1")
    assert painted(page, ".panel .chart", FIRST_LINE) > 100
    legend = page.locator(".panel .u-legend").inner_text()
    assert all(f"depth-{d}" in legend for d in DEPTHS)
    console.screenshot("console-experiment")
    # Ticking one run plots it alone.
    page.get_by_label("compare depth-6").check()
    expect(page.locator(".panel .u-legend")).not_to_contain_text("depth-3")


def test_a_run_links_to_its_model_version_and_back(tracked, console):
    url, _, runs = tracked
    page = console.page
    page.goto(url + f"/ui#/runs/{runs[4]}")
    expect(page.locator("h1")).to_contain_text("depth-4")
    expect(page.locator('tr[data-param="max_depth"]')).to_contain_text("4")
    history = requests.get(url + "/api/2.0/mlflow/metrics/get-history",
                           params={"run_id": runs[4], "metric_key": "valid_auc"}).json()
    last = max(history["metrics"], key=lambda m: m["step"])
    cell = page.locator('tr[data-metric="valid_auc"] td').nth(1)
    expect(cell).not_to_be_empty()
    assert close(cell.inner_text(), last["value"], digits=6)
    expect(page.locator('section[data-metric="valid_auc"] canvas')).to_have_count(1)
    assert painted(page, 'section[data-metric="valid_auc"] .chart', FIRST_LINE) > 100
    console.screenshot("console-run")
    page.locator(".produced a").click()
    expect(page.locator("h1")).to_contain_text("version 1")
    page.locator("dd.run a").click()
    expect(page.locator("h1")).to_contain_text("depth-4")

"""MLflow's tracking API through MLflow's own client only: a training script logs params,
metrics and an XGBoost model with registered_model_name, the production alias is set with
MlflowClient, and inferd serves the model (V2 predictions equal to the model's own);
search_runs with filters and ordering; mlflow.pyfunc.load_model of the registered version
through inferd; errors as MLflow's exceptions with MLflow's error codes. On SQLite and on
the MongoDB wire (FerretDB, and a real MongoDB when INFERD_TEST_MONGODB_URI names one)."""
import math
import os
import subprocess

import numpy as np
import pytest
import requests

os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow  # noqa: E402
import mlflow.xgboost  # noqa: E402
import xgboost as xgb  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric, Param, RunTag  # noqa: E402
from mlflow.exceptions import MlflowException, RestException  # noqa: E402

from conftest import BINARY, DATA, read_csv, wait_for  # noqa: E402

TOKEN = "test-admin-token-7c1e"


@pytest.fixture
def tracking_server(shared_store, start_server, monkeypatch):
    store = shared_store
    server = start_server("--poll-interval-ms", "200", repo=False, store=store,
                          env={"INFERD_ADMIN_TOKEN": TOKEN})
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", TOKEN)
    mlflow.set_tracking_uri(server.url)
    mlflow.set_experiment("Default")  # forget an experiment of an earlier test's server
    yield server
    while mlflow.active_run():
        mlflow.end_run()


def iris():
    header, rows = read_csv("iris")
    labels = [int(float(line.rsplit(",", 1)[1]))
              for line in (DATA / "iris.csv").read_text().splitlines()[1:]]
    return header, np.array(rows, dtype=np.float32), np.array(labels)


def test_training_script_logs_registers_and_inferd_serves(tracking_server):
    """The everyday flow of a training script, then serving and loading through inferd."""
    header, x, y = iris()
    mlflow.set_experiment("iris-training")
    params = {"max_depth": 3, "eta": 0.3, "objective": "multi:softprob", "num_class": 3}
    with mlflow.start_run(run_name="first") as run:
        mlflow.log_params(params)
        mlflow.set_tag("team", "ml")
        dtrain = xgb.DMatrix(x, label=y, feature_names=header)
        booster = xgb.train(params, dtrain, num_boost_round=8)
        for step in range(3):
            mlflow.log_metric("mlogloss", 1.0 / (step + 1), step=step)
        mlflow.log_metric("accuracy", 0.96)
        info = mlflow.xgboost.log_model(booster, name="model", registered_model_name="iris-mlflow")
    assert str(info.registered_model_version) == "1"

    client = MlflowClient()
    got = client.get_run(run.info.run_id)
    assert got.info.status == "FINISHED" and got.info.run_name == "first"
    assert got.data.params == {k: str(v) for k, v in params.items()}
    assert got.data.metrics == {"mlogloss": pytest.approx(1.0 / 3), "accuracy": 0.96}
    assert got.data.tags["team"] == "ml"
    assert [m.value for m in client.get_metric_history(run.info.run_id, "mlogloss")] == \
        pytest.approx([1.0, 0.5, 1.0 / 3])
    assert [o.model_id for o in got.outputs.model_outputs] == [info.model_id]

    version = client.get_model_version("iris-mlflow", "1")
    assert version.run_id == run.info.run_id
    assert version.source == f"models:/{info.model_id}"  # as MLflow 3's server keeps it
    logged = client.get_logged_model(info.model_id)
    assert logged.source_run_id == run.info.run_id
    assert client.get_model_version_download_uri("iris-mlflow", "1") == logged.artifact_location

    client.set_registered_model_alias("iris-mlflow", "production", "1")
    expected = booster.predict(xgb.DMatrix(x[:5], feature_names=header))
    body = {"inputs": [{"name": "input__0", "shape": [5, 4], "datatype": "FP32",
                        "data": x[:5].tolist()}]}
    url = f"{tracking_server.url}/v2/models/iris-mlflow/infer"
    assert wait_for(lambda: requests.post(url, json=body).status_code == 200), \
        "".join(tracking_server.log[-20:])
    out = requests.post(url, json=body).json()["outputs"][0]
    assert np.allclose(np.array(out["data"]).reshape(out["shape"]), expected, atol=1e-6)

    loaded = mlflow.pyfunc.load_model("models:/iris-mlflow@production")
    import pandas as pd
    assert np.allclose(loaded.predict(pd.DataFrame(x[:5], columns=header)), expected, atol=1e-6)
    native = mlflow.xgboost.load_model("models:/iris-mlflow/1")
    assert np.allclose(native.predict(xgb.DMatrix(x[:5], feature_names=header)), expected)


def test_search_runs_filters_orders_and_pages(tracking_server):
    experiment_id = mlflow.create_experiment("sweep", tags={"kind": "grid"})
    for i, (depth, loss) in enumerate([(2, 0.5), (4, 0.2), (6, 0.3), (8, float("nan"))]):
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"depth-{depth}"):
            mlflow.log_param("max_depth", depth)
            mlflow.set_tag("size", "big" if depth > 4 else "small")
            mlflow.log_metric("loss", loss)
    with mlflow.start_run(experiment_id=experiment_id, run_name="no-metric"):
        mlflow.log_param("max_depth", 0)

    runs = mlflow.search_runs([experiment_id], filter_string="metrics.loss < 0.4",
                              order_by=["metrics.loss ASC"])
    assert list(runs["tags.mlflow.runName"]) == ["depth-4", "depth-6"]
    runs = mlflow.search_runs([experiment_id], order_by=["metrics.loss DESC"])
    # As MLflow's SQL store: NaN after the numbers, a run without the metric last.
    assert list(runs["tags.mlflow.runName"]) == ["depth-2", "depth-6", "depth-4", "depth-8",
                                                 "no-metric"]
    runs = mlflow.search_runs(
        [experiment_id], filter_string="params.max_depth = '4' and tags.size LIKE 'sm%'")
    assert list(runs["tags.mlflow.runName"]) == ["depth-4"]
    runs = mlflow.search_runs([experiment_id],
                              filter_string="attributes.run_name IN ('depth-2', 'depth-8')",
                              order_by=["attributes.run_name DESC"])
    assert list(runs["tags.mlflow.runName"]) == ["depth-8", "depth-2"]
    assert len(mlflow.search_runs([experiment_id], filter_string="tags.size IS NULL")) == 1
    assert len(mlflow.search_runs(experiment_names=["sweep"],
                                  filter_string="attributes.status = 'FINISHED'")) == 5

    client = MlflowClient()
    page = client.search_runs([experiment_id], max_results=2, order_by=["params.max_depth ASC"])
    names = [r.info.run_name for r in page]
    while page.token:
        page = client.search_runs([experiment_id], max_results=2, page_token=page.token,
                                  order_by=["params.max_depth ASC"])
        names += [r.info.run_name for r in page]
    assert names == ["no-metric", "depth-2", "depth-4", "depth-6", "depth-8"]

    deleted = mlflow.search_runs([experiment_id], filter_string="params.max_depth = '2'",
                                 output_format="list")[0]
    client.delete_run(deleted.info.run_id)
    assert len(mlflow.search_runs([experiment_id])) == 4
    assert len(client.search_runs([experiment_id], run_view_type=2)) == 1
    client.restore_run(deleted.info.run_id)
    assert len(mlflow.search_runs([experiment_id])) == 5


def test_experiments_lifecycle(tracking_server):
    client = MlflowClient()
    eid = client.create_experiment("lifecycle", tags={"a": "1"})
    with mlflow.start_run(experiment_id=eid) as run:
        mlflow.log_metric("m", 1)
    assert client.get_experiment_by_name("lifecycle").experiment_id == eid
    assert client.get_experiment(eid).artifact_location == f"mlflow-artifacts:/{eid}"
    assert run.info.artifact_uri == f"mlflow-artifacts:/{eid}/{run.info.run_id}/artifacts"
    client.set_experiment_tag(eid, "b", "2")
    assert client.get_experiment(eid).tags == {"a": "1", "b": "2"}
    client.rename_experiment(eid, "renamed")
    assert client.get_experiment_by_name("lifecycle") is None
    assert [e.name for e in client.search_experiments(filter_string="name LIKE 'ren%'")] == \
        ["renamed"]
    client.delete_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "deleted"
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(MlflowException) as e:
        client.create_experiment("renamed")
    assert e.value.error_code == "RESOURCE_ALREADY_EXISTS"
    client.restore_experiment(eid)
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "active"
    names = [e.name for e in client.search_experiments(order_by=["name ASC"])]
    assert names == ["Default", "renamed"]


def test_artifacts_and_datasets(tracking_server, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(tmp_path / "notes.txt"), artifact_path="docs")
        dataset = mlflow.data.from_numpy(np.arange(6.0).reshape(3, 2), name="tiny")
        mlflow.log_input(dataset, context="training")
    client = MlflowClient()
    assert [f.path for f in client.list_artifacts(run.info.run_id, "docs")] == ["docs/notes.txt"]
    local = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="docs",
                                                dst_path=str(tmp_path / "down"))
    assert open(os.path.join(local, "notes.txt")).read() == "hello"
    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert [(i.dataset.name, i.tags[0].value) for i in inputs] == [("tiny", "training")]
    assert len(mlflow.search_runs(filter_string="datasets.name = 'tiny'",
                                  search_all_experiments=True)) == 1


def test_errors_are_mlflow_exceptions_with_mlflow_codes(tracking_server):
    client = MlflowClient()
    with pytest.raises(RestException) as e:
        client.get_run("0123456789abcdef0123456789abcdef")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        mlflow.search_runs(["0"], filter_string="metrics.loss <")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as e:
        mlflow.search_runs(["0"], filter_string="colour.red = 'x'")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    with mlflow.start_run() as run:
        mlflow.log_param("p", "a")
        with pytest.raises(MlflowException) as e:
            client.log_param(run.info.run_id, "p", "b")
        assert e.value.error_code == "INVALID_PARAMETER_VALUE"
        # MLflow's client truncates long values and checks batch sizes itself; its REST
        # store sends what it is given, so the server's own limits are reached through it.
        store = client._tracking_client.store
        for call in (lambda: store.log_param(run.info.run_id, Param("long", "x" * 6001)),
                     lambda: store.set_tag(run.info.run_id, RunTag("long", "x" * 8001)),
                     lambda: store.log_batch(run.info.run_id, [
                         Metric("m", i, 0, i) for i in range(1001)], [], []),
                     lambda: store.log_batch(run.info.run_id, [], [
                         Param(f"p{i}", "v") for i in range(101)], []),
                     lambda: store.log_param(run.info.run_id, Param("../escape", "v"))):
            with pytest.raises(RestException) as e:
                call()
            assert e.value.error_code == "INVALID_PARAMETER_VALUE"
        assert client.get_run(run.info.run_id).data.params == {"p": "a"}
        mlflow.log_metric("nan", math.nan)
    assert math.isnan(client.get_run(run.info.run_id).data.metrics["nan"])
    with pytest.raises(MlflowException) as e:
        client.get_experiment("123")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        MlflowClient(tracking_uri=tracking_server.url).create_experiment(
            "x", tags={"": "empty key"})
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    # Parts of MLflow's API inferd does not serve (docs/mlflow.md) say so in MLflow's terms.
    for call in (lambda: client.get_trace("tr-123"),
                 lambda: client.create_webhook(name="w", url="http://127.0.0.1:9/hook",
                                               events=["model_version.created"])):
        with pytest.raises(RestException) as e:
            call()
        assert e.value.error_code == "ENDPOINT_NOT_FOUND"


def test_inferd_train_records_its_run_like_a_training_script(shared_store, tracking_server):
    """`inferd train` leaves what mlflow.xgboost.log_model(registered_model_name=...) does: a
    finished run with params, holdout metrics and the dataset version as input, a logged model,
    and a version registered from it that MLflow loads and inferd serves."""
    p = subprocess.run([str(BINARY), "--store", shared_store, "train", "--data",
                        str(DATA / "iris.csv"), "--target", "target", "--register", "iris-cli",
                        "--alias", "production", "--experiment", "cli-training"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    client = MlflowClient()
    [run] = client.search_runs([client.get_experiment_by_name("cli-training").experiment_id])
    assert run.info.status == "FINISHED" and run.info.end_time >= run.info.start_time
    assert run.data.params["target"] == "target" and "max_depth" in run.data.params
    assert run.data.metrics, "holdout metrics are logged"
    [dataset] = run.inputs.dataset_inputs
    assert dataset.dataset.name == "iris" and dataset.tags[0].value == "training"
    [output] = run.outputs.model_outputs
    model = client.get_logged_model(output.model_id)
    assert model.source_run_id == run.info.run_id and model.status == "READY"
    assert {m.key for m in model.metrics} == set(run.data.metrics)
    version = client.get_model_version_by_alias("iris-cli", "production")
    assert version.run_id == run.info.run_id and version.source == f"models:/{model.model_id}"

    header, x, _ = iris()
    body = {"inputs": [{"name": "input__0", "shape": [3, 4], "datatype": "FP32",
                        "data": x[:3].tolist()}]}
    url = f"{tracking_server.url}/v2/models/iris-cli/infer"
    assert wait_for(lambda: requests.post(url, json=body).status_code == 200)
    out = requests.post(url, json=body).json()["outputs"][0]
    native = mlflow.xgboost.load_model("models:/iris-cli@production")
    expected = native.predict(xgb.DMatrix(x[:3], feature_names=header))
    assert np.allclose(np.array(out["data"]).reshape(out["shape"]), expected, atol=1e-6)

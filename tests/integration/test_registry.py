"""The model registry through the real MLflow client, the inferd CLI, and serving from it."""
import os
import subprocess

import numpy as np
import pytest
import requests

os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository  # noqa: E402

from conftest import BINARY, DATA, read_csv, read_expected, wait_for  # noqa: E402

TOKEN = "test-admin-token-4f9a"
IRIS = DATA / "models" / "iris" / "1" / "model.ubj"
CANCER = DATA / "models" / "breast_cancer" / "1" / "model.json"


@pytest.fixture
def registry_server(start_server, monkeypatch):
    server = start_server("--poll-interval-ms", "200", repo=False,
                          env={"INFERD_ADMIN_TOKEN": TOKEN})
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", TOKEN)
    mlflow.set_tracking_uri(server.url)
    return server


def upload(path, artifact_dir):
    """Uploads a model file into an artifact folder; the folder is the version's source,
    as for a model logged with MLflow."""
    MlflowArtifactsRepository(f"mlflow-artifacts:/{artifact_dir}").log_artifact(str(path))
    return f"mlflow-artifacts:/{artifact_dir}"


def infer_iris(server, version=""):
    _, rows = read_csv("iris")
    path = f"/v2/models/iris/versions/{version}/infer" if version else "/v2/models/iris/infer"
    body = {"inputs": [{"name": "input__0", "shape": [2, 4], "datatype": "FP32", "data": rows[:2]}]}
    return requests.post(server.url + path, json=body)


def test_mlflow_client_registry_round_trip(registry_server):
    client = MlflowClient()
    client.create_registered_model("iris", tags={"team": "ml"}, description="flowers")
    with pytest.raises(MlflowException) as err:
        client.create_registered_model("iris")
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"

    source = upload(IRIS, "models/iris/run1")
    v1 = client.create_model_version("iris", source, description="first")
    assert v1.version == "1" and v1.status == "READY" and v1.source == source
    client.set_registered_model_alias("iris", "production", "1")
    by_alias = client.get_model_version_by_alias("iris", "production")
    assert by_alias.version == "1" and by_alias.aliases == ["production"]

    client.set_model_version_tag("iris", "1", "validated", "yes")
    assert client.get_model_version("iris", "1").tags == {"validated": "yes"}
    client.update_registered_model("iris", description="iris flowers")
    model = client.get_registered_model("iris")
    assert model.description == "iris flowers" and model.tags == {"team": "ml"}
    assert model.aliases == {"production": "1"}

    client.create_registered_model("other")
    found = client.search_registered_models(filter_string="name LIKE 'ir%'")
    assert [m.name for m in found] == ["iris"]
    page = client.search_registered_models(max_results=1)
    assert len(page) == 1 and page.token
    assert [m.name for m in client.search_registered_models(max_results=1, page_token=page.token)] == ["other"]
    assert [v.version for v in client.search_model_versions("name = 'iris'")] == ["1"]
    assert client.get_model_version_download_uri("iris", "1") == source

    # The artifact proxy serves the file back, as MLflow's does.
    local = mlflow.artifacts.download_artifacts(artifact_uri="models:/iris/1")
    with open(os.path.join(local, "model.ubj"), "rb") as f:
        assert f.read() == IRIS.read_bytes()

    with pytest.raises(MlflowException) as err:
        client.get_registered_model("nope")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    client.delete_model_version_tag("iris", "1", "validated")
    client.delete_registered_model_alias("iris", "production")
    client.delete_registered_model("other")
    assert [m.name for m in client.search_registered_models()] == ["iris"]


def test_serving_follows_versions_and_alias_moves(registry_server):
    client = MlflowClient()
    client.create_registered_model("iris")
    client.create_model_version("iris", upload(IRIS, "models/iris/a"))
    assert wait_for(lambda: infer_iris(registry_server).status_code == 200)
    expected = np.float32(read_expected("iris")[:2])
    r = infer_iris(registry_server)
    np.testing.assert_array_equal(np.float32(r.json()["outputs"][0]["data"]).reshape(2, 3), expected)
    assert r.json()["model_version"] == "1"

    client.create_model_version("iris", upload(IRIS, "models/iris/b"))
    assert wait_for(lambda: infer_iris(registry_server).json().get("model_version") == "2")
    client.set_registered_model_alias("iris", "production", "1")
    assert wait_for(lambda: infer_iris(registry_server).json().get("model_version") == "1")
    assert infer_iris(registry_server, "2").json()["model_version"] == "2"
    meta = requests.get(registry_server.url + "/v2/models/iris").json()
    assert meta["versions"] == ["1", "2"]

    client.delete_registered_model("iris")
    assert wait_for(lambda: infer_iris(registry_server).status_code == 404)


def test_mutations_need_the_admin_token(registry_server):
    url = registry_server.url + "/api/2.0/mlflow/registered-models/create"
    r = requests.post(url, json={"name": "x"})
    assert r.status_code == 401 and r.json()["error_code"] == "UNAUTHENTICATED"
    r = requests.post(url, json={"name": "x"}, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 403 and r.json()["error_code"] == "PERMISSION_DENIED"
    r = requests.put(registry_server.url + "/api/2.0/mlflow-artifacts/artifacts/a/b.json", data=b"{}")
    assert r.status_code == 401
    r = requests.post(registry_server.url + "/v2/repository/models/iris/load")
    assert r.status_code == 401 and "admin token" in r.json()["error"]
    # Reads stay open; inference never needs the token.
    r = requests.get(registry_server.url + "/api/2.0/mlflow/registered-models/search")
    assert r.status_code == 200
    r = requests.post(url, json={"name": "x"}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200
    assert TOKEN not in "".join(registry_server.log)


def test_cli_registers_and_the_server_picks_it_up(registry_server, store_uri):
    def cli(*args):
        return subprocess.run([str(BINARY), "--store", store_uri, "models", *args],
                              capture_output=True, text=True, timeout=30)

    p = cli("register", "breast_cancer", "--file", str(CANCER), "--alias", "production")
    assert p.returncode == 0, p.stderr
    assert "registered breast_cancer version 1 as @production" in p.stdout
    assert cli("register", "breast_cancer", "--file", str(CANCER)).returncode == 0
    listing = cli("list").stdout
    assert "breast_cancer" in listing and "production=1" in listing
    shown = cli("show", "breast_cancer").stdout
    assert "version 2" in shown and "@production" in shown
    _, rows = read_csv("breast_cancer")
    body = {"inputs": [{"name": "input__0", "shape": [1, 30], "datatype": "FP32", "data": rows[:1]}]}
    infer = lambda: requests.post(registry_server.url + "/v2/models/breast_cancer/infer", json=body)
    assert wait_for(lambda: infer().status_code == 200)
    assert infer().json()["model_version"] == "1"  # production, not the latest
    assert cli("alias", "breast_cancer", "production", "2").returncode == 0
    assert wait_for(lambda: infer().json()["model_version"] == "2")
    bad = cli("alias", "breast_cancer", "production", "9")
    assert bad.returncode == 1 and "version 9 not found" in bad.stderr
    assert cli("delete", "breast_cancer", "--version", "1").returncode == 0
    assert cli("delete", "breast_cancer").returncode == 0
    assert "breast_cancer" not in cli("list").stdout


def test_lineage_says_what_produced_a_version(registry_server, store_uri):
    trained = subprocess.run([str(BINARY), "--store", store_uri, "train", "--data",
                              str(DATA / "breast_cancer.csv"), "--target", "target",
                              "--register", "cancer", "--num-rounds", "5", "--seed", "7"],
                             capture_output=True, text=True, timeout=120)
    assert trained.returncode == 0, trained.stderr
    shown = subprocess.run([str(BINARY), "--store", store_uri, "models", "show", "cancer"],
                           capture_output=True, text=True, timeout=30).stdout
    url = registry_server.url + "/v1/models/cancer/versions/{}/lineage"
    lineage = requests.get(url.format(1)).json()
    dataset = lineage["dataset"]
    assert dataset["name"] == "breast_cancer" and dataset["version"] == 1
    assert f"dataset breast_cancer@1 md5 {dataset['md5']}" in shown
    assert lineage["params"]["num_rounds"] == "5" and lineage["params"]["seed"] == "7"
    assert {"auc", "logloss", "accuracy"} <= set(lineage["metrics"])
    for name, value in lineage["metrics"].items():
        assert f"metric {name}={value:.6g}" in shown
    assert f"source {lineage['source']}" in shown
    # The version comes from the training's MLflow logged model (docs/mlflow.md).
    assert lineage["source"].startswith("models:/m-")
    assert (lineage["model"], lineage["version"]) == ("cancer", "1")
    # A version registered from a file has no lineage beyond its source.
    registered = subprocess.run([str(BINARY), "--store", store_uri, "models", "register",
                                 "cancer", "--file", str(CANCER)],
                                capture_output=True, text=True, timeout=30)
    assert registered.returncode == 0, registered.stderr
    bare = requests.get(url.format(2)).json()
    assert bare["dataset"] is None and bare["params"] == {} and bare["metrics"] == {}
    for version, status in (("9", 404), ("0", 400), ("x", 400)):
        r = requests.get(url.format(version))
        assert r.status_code == status and r.json()["error"], version
    r = requests.get(registry_server.url + "/v1/models/nothing/versions/1/lineage")
    assert r.status_code == 404 and "nothing" in r.json()["error"]

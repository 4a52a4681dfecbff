"""Every model format wherever a model goes: the model repository (by file name, or a format
declared in config.json), the registry (model files and MLflow model folders as
mlflow.<flavor>.save_model leaves them, uploaded through MLflow's artifact client), and
`inferd models register`; metadata names the format. scikit-learn pickles are refused with
what to do instead."""
import json
import os
import shutil
import subprocess

import lightgbm as lgb
import numpy as np
import pytest
import requests

os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow  # noqa: E402
import mlflow.lightgbm  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository  # noqa: E402

from conftest import BINARY, DATA, read_csv, read_expected, wait_for  # noqa: E402

IRIS_UBJ = DATA / "models" / "iris" / "1" / "model.ubj"
CANCER_JSON = DATA / "models" / "breast_cancer" / "1" / "model.json"


def lightgbm_booster():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 5)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(float)
    return lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1}, lgb.Dataset(x, y),
                     10), x


def infer(server, model, rows):
    body = {"inputs": [{"name": "input__0", "shape": list(np.shape(rows)), "datatype": "FP32",
                        "data": np.asarray(rows, dtype=np.float32).ravel().tolist()}]}
    return requests.post(f"{server.url}/v2/models/{model}/infer", json=body)


def xgboost_mlflow_folder(folder, data_name="model.xgb"):
    """A folder as mlflow.xgboost.save_model leaves it (its MLmodel keys), holding the demo
    iris model. The xgboost Python package is not a test dependency: the folder is written
    here, the model file is one libxgboost wrote."""
    folder.mkdir(parents=True)
    shutil.copy(IRIS_UBJ, folder / data_name)
    (folder / "MLmodel").write_text(f"""artifact_path: model
flavors:
  python_function:
    data: {data_name}
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.xgboost
    python_version: 3.11.2
  xgboost:
    code: null
    data: {data_name}
    model_class: xgboost.core.Booster
    model_format: xgb
    xgb_version: 1.7.4
mlflow_version: 3.17.2
model_uuid: 0d5f2d6b0c6a4a8c9f4c3a9e4f0b1d2e
""")
    (folder / "requirements.txt").write_text("mlflow==3.17.2\nxgboost==1.7.4\n")
    return folder


def sklearn_mlflow_folder(folder):
    """What mlflow.sklearn.save_model leaves: a pickle (scikit-learn is not a test dependency,
    and the pickle's content is never read)."""
    folder.mkdir(parents=True)
    (folder / "model.pkl").write_bytes(b"\x80\x04not a model inferd reads")
    (folder / "MLmodel").write_text("""flavors:
  python_function:
    loader_module: mlflow.sklearn
    model_path: model.pkl
  sklearn:
    code: null
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 1.2.1
mlflow_version: 3.17.2
""")
    return folder


def test_repository_takes_formats_by_name_or_declared(start_server, tmp_path):
    repo = tmp_path / "formats"
    booster, x = lightgbm_booster()
    (repo / "by_name" / "1").mkdir(parents=True)
    booster.save_model(str(repo / "by_name" / "1" / "model.txt"))
    # Triton FIL's layout: the format declared, files named as FIL names them.
    (repo / "declared" / "1").mkdir(parents=True)
    booster.save_model(str(repo / "declared" / "1" / "booster.lgb"))
    (repo / "declared" / "config.json").write_text(json.dumps({"format": "lightgbm"}))
    (repo / "xgb_declared" / "1").mkdir(parents=True)
    shutil.copy(IRIS_UBJ, repo / "xgb_declared" / "1" / "xgboost.model")
    (repo / "xgb_declared" / "config.json").write_text(json.dumps({"format": "xgboost_ubj"}))
    server = start_server(repo=repo)
    want = np.float32(booster.predict(x[:20]))
    for model in ("by_name", "declared"):
        r = infer(server, model, x[:20])
        assert r.status_code == 200, r.text
        np.testing.assert_array_equal(np.float32(r.json()["outputs"][0]["data"]), want)
        meta = requests.get(f"{server.url}/v2/models/{model}").json()
        assert meta["platform"] == "lightgbm" and meta["parameters"]["runtime"] == "native"
    _, rows = read_csv("iris")
    r = infer(server, "xgb_declared", rows[:3])
    np.testing.assert_array_equal(np.float32(r.json()["outputs"][0]["data"]).reshape(3, 3),
                                  np.float32(read_expected("iris")[:3]))
    assert requests.get(f"{server.url}/v2/models/xgb_declared").json()["platform"] == "xgboost"
    # A declared format wants the version folder's one file.
    shutil.copy(IRIS_UBJ, repo / "xgb_declared" / "1" / "other.ubj")
    r = requests.post(f"{server.url}/v2/repository/models/xgb_declared/load")
    assert r.status_code == 400 and "exactly one file" in r.json()["error"]
    (repo / "xgb_declared" / "config.json").write_text(json.dumps({"format": "pmml"}))
    r = requests.post(f"{server.url}/v2/repository/models/xgb_declared/load")
    assert r.status_code == 400 and '"format" must be' in r.json()["error"]


@pytest.fixture
def registry_server(start_server, monkeypatch):
    server = start_server("--poll-interval-ms", "200", repo=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    mlflow.set_tracking_uri(server.url)
    return server


def upload_folder(folder, artifact_dir):
    MlflowArtifactsRepository(f"mlflow-artifacts:/{artifact_dir}",
                              tracking_uri=mlflow.get_tracking_uri()).log_artifacts(str(folder))
    return f"mlflow-artifacts:/{artifact_dir}"


def test_registry_serves_mlflow_model_folders(registry_server, tmp_path):
    client = MlflowClient()
    booster, x = lightgbm_booster()
    mlflow.lightgbm.save_model(booster, str(tmp_path / "lgbm"))
    client.create_registered_model("lgbm")
    client.create_model_version("lgbm", upload_folder(tmp_path / "lgbm", "models/lgbm/run1"))
    client.create_registered_model("xgb")
    client.create_model_version(
        "xgb", upload_folder(xgboost_mlflow_folder(tmp_path / "xgb"), "models/xgb/run1"))
    client.create_registered_model("pickle")
    client.create_model_version(
        "pickle", upload_folder(sklearn_mlflow_folder(tmp_path / "sk"), "models/sk/run1"))
    # A plain LightGBM file as a version's source.
    booster.save_model(str(tmp_path / "model.txt"))
    MlflowArtifactsRepository("mlflow-artifacts:/models/plain/run1",
                              tracking_uri=mlflow.get_tracking_uri()).log_artifact(
        str(tmp_path / "model.txt"))
    client.create_registered_model("plain")
    client.create_model_version("plain", "mlflow-artifacts:/models/plain/run1/model.txt")

    assert wait_for(lambda: infer(registry_server, "lgbm", x[:5]).status_code == 200)
    assert wait_for(lambda: infer(registry_server, "plain", x[:5]).status_code == 200)
    for model in ("lgbm", "plain"):
        got = np.float32(infer(registry_server, model, x[:50]).json()["outputs"][0]["data"])
        np.testing.assert_array_equal(got, np.float32(booster.predict(x[:50])))
        assert requests.get(f"{registry_server.url}/v2/models/{model}").json()[
            "platform"] == "lightgbm"
    assert wait_for(lambda: infer(registry_server, "xgb", read_csv("iris")[1][:2]).status_code == 200)
    got = infer(registry_server, "xgb", read_csv("iris")[1][:2]).json()["outputs"][0]["data"]
    np.testing.assert_array_equal(np.float32(got).reshape(2, 3),
                                  np.float32(read_expected("iris")[:2]))
    index = requests.post(registry_server.url + "/v2/repository/index").json()
    pickle = [e for e in index if e["name"] == "pickle"][0]
    assert pickle["state"] == "UNAVAILABLE"
    assert "scikit-learn pickle" in pickle["reason"] and "ONNX" in pickle["reason"]


def test_cli_registers_every_format(registry_server, store_uri, tmp_path):
    def cli(*args):
        return subprocess.run([str(BINARY), "--store", store_uri, "models", *args],
                              capture_output=True, text=True, timeout=30)

    booster, x = lightgbm_booster()
    booster.save_model(str(tmp_path / "booster.txt"))
    p = cli("register", "lgbm_file", "--file", str(tmp_path / "booster.txt"))
    assert p.returncode == 0, p.stderr
    mlflow.lightgbm.save_model(booster, str(tmp_path / "lgbm_folder"))
    p = cli("register", "lgbm_folder", "--file", str(tmp_path / "lgbm_folder"))
    assert p.returncode == 0, p.stderr
    p = cli("register", "xgb_folder", "--file", str(xgboost_mlflow_folder(tmp_path / "xgb")))
    assert p.returncode == 0, p.stderr
    p = cli("register", "cancer", "--file", str(CANCER_JSON))
    assert p.returncode == 0, p.stderr
    p = cli("register", "pickle", "--file", str(sklearn_mlflow_folder(tmp_path / "sk")))
    assert p.returncode == 1 and "scikit-learn pickle" in p.stderr and "ONNX" in p.stderr
    assert "pickle" not in cli("list").stdout
    (tmp_path / "notes.csv").write_text("a,b\n")
    p = cli("register", "notes", "--file", str(tmp_path / "notes.csv"))
    assert p.returncode == 1 and "must be a model file" in p.stderr

    for model in ("lgbm_file", "lgbm_folder"):
        assert wait_for(lambda: infer(registry_server, model, x[:5]).status_code == 200)
        got = np.float32(infer(registry_server, model, x[:30]).json()["outputs"][0]["data"])
        np.testing.assert_array_equal(got, np.float32(booster.predict(x[:30])))
    assert wait_for(
        lambda: infer(registry_server, "xgb_folder", read_csv("iris")[1][:1]).status_code == 200)

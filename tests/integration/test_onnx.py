"""ONNX tree ensembles (model.onnx) on the native engine, against onnxruntime and the source
library: scikit-learn's RandomForest, ExtraTrees, GradientBoosting and HistGradientBoosting,
regressors and binary / multi-class classifiers, exported with skl2onnx (ZipMap and Cast
around the ensemble, as it writes them), served from a model repository and from the
registry as mlflow.onnx leaves them; graphs with other operators are refused naming them.
Outputs equal onnxruntime's (one thread) bit for bit: sums in float in tree order, base values
after, and onnxruntime's own logistic, softmax and binary-class conventions."""
import json
import time

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import requests
from onnx import helper
from skl2onnx import to_onnx
from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor,
                              GradientBoostingClassifier, GradientBoostingRegressor,
                              HistGradientBoostingClassifier, HistGradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)

from conftest import InferdServer

FEATURES = 6

MODELS = {
    "rf_reg": lambda: RandomForestRegressor(n_estimators=20, max_depth=6, random_state=0),
    "et_reg": lambda: ExtraTreesRegressor(n_estimators=20, max_depth=6, random_state=0),
    "gb_reg": lambda: GradientBoostingRegressor(n_estimators=30, max_depth=3, random_state=0),
    "hgb_reg": lambda: HistGradientBoostingRegressor(max_iter=30, random_state=0),
    "rf_bin": lambda: RandomForestClassifier(n_estimators=20, max_depth=6, random_state=0),
    "gb_bin": lambda: GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0),
    "hgb_bin": lambda: HistGradientBoostingClassifier(max_iter=30, random_state=0),
    "rf_multi": lambda: RandomForestClassifier(n_estimators=20, max_depth=6, random_state=0),
    "et_multi": lambda: ExtraTreesClassifier(n_estimators=20, max_depth=6, random_state=0),
    "gb_multi": lambda: GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=0),
    "hgb_multi": lambda: HistGradientBoostingClassifier(max_iter=20, random_state=0),
}


def data(rows, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, FEATURES)).astype(np.float32)
    signal = x[:, 0] + 0.5 * x[:, 1] - x[:, 2] * x[:, 3]
    return x, signal


def target(name, signal):
    if name.endswith("_bin"):
        return (signal > 0).astype(int)
    if name.endswith("_multi"):
        return np.digitize(signal, [-1, 0, 1])
    return signal


def export(model, x, zipmap=True):
    options = {id(model): {"zipmap": zipmap}} if hasattr(model, "predict_proba") else None
    return to_onnx(model, x[:1], options=options, target_opset={"": 17, "ai.onnx.ml": 3})


def onnxruntime_outputs(onnx_model, x):
    """onnxruntime's regression values or class probabilities for float32 rows."""
    options = ort.SessionOptions()
    # One thread: onnxruntime then adds the trees in order, as inferd does (with more it
    # splits large batches' trees between threads and merges their sums).
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(onnx_model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    outputs = session.run(None, {session.get_inputs()[0].name: x})
    return np.asarray(outputs[1] if len(outputs) > 1 else outputs[0], dtype=np.float32)


def infer(url, model, rows):
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    header = json.dumps({"inputs": [{"name": "input__0", "shape": list(rows.shape),
                                     "datatype": "FP32",
                                     "parameters": {"binary_data_size": rows.nbytes}}],
                         "outputs": [{"name": "output__0",
                                      "parameters": {"binary_data": True}}]}).encode()
    r = requests.post(f"{url}/v2/models/{model}/infer", data=header + rows.tobytes(),
                      headers={"Inference-Header-Content-Length": str(len(header))})
    assert r.status_code == 200, r.text
    n = int(r.headers["Inference-Header-Content-Length"])
    return np.frombuffer(r.content[n:], dtype=np.float32)


@pytest.fixture(scope="module")
def onnx_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx")
    repo = folder / "models"
    x, signal = data(800, seed=1)
    trained = {}
    for name, make in MODELS.items():
        model = make().fit(x, target(name, signal))
        (repo / name / "1").mkdir(parents=True)
        (repo / name / "1" / "model.onnx").write_bytes(export(model, x).SerializeToString())
        trained[name] = model
    server = InferdServer(["--host", "127.0.0.1", "--port", "0", "--model-repository", str(repo),
                           "--store", f"sqlite:///{folder}/inferd.db",
                           "--spool-dir", str(folder / "spool"), "--log-sample-rate", "0"])
    server.wait_ready()
    yield server, x, trained, repo
    server.stop()


@pytest.mark.parametrize("name", list(MODELS))
def test_predictions_equal_onnxruntime_and_the_source_library(onnx_server, name):
    server, x, trained, _ = onnx_server
    model = trained[name]
    rows, _ = data(2000, seed=len(name))
    rows = np.concatenate([x, rows])
    # NaN in a tenth of the values: the ensemble's missing-value tracks decide.
    with_nan = rows.copy()
    with_nan[np.random.default_rng(3).random(rows.shape) < 0.1] = np.nan
    for batch in (rows, with_nan):
        want = onnxruntime_outputs(export(model, x, zipmap=False), batch).ravel()
        np.testing.assert_array_equal(infer(server.url, name, batch), want)  # bit for bit
    source = model.predict_proba(rows) if hasattr(model, "predict_proba") else model.predict(rows)
    np.testing.assert_allclose(infer(server.url, name, rows), np.ravel(source), rtol=1e-4,
                               atol=1e-5)
    meta = requests.get(f"{server.url}/v2/models/{name}").json()
    assert meta["platform"] == "onnx" and meta["parameters"]["runtime"] == "native"


def test_other_operators_are_refused_naming_them(onnx_server):
    server, x, trained, repo = onnx_server
    graph = export(trained["rf_reg"], x)
    scaled = helper.make_node("Mul", [graph.graph.output[0].name, "two"], ["scaled"])
    graph.graph.node.append(scaled)
    graph.graph.initializer.append(helper.make_tensor("two", onnx.TensorProto.FLOAT, [1], [2.0]))
    (repo / "mul" / "1").mkdir(parents=True)
    (repo / "mul" / "1" / "model.onnx").write_bytes(graph.SerializeToString())
    r = requests.post(f"{server.url}/v2/repository/models/mul/load")
    assert r.status_code >= 400 and "ONNX operator Mul" in r.json()["error"], r.text
    (repo / "junk" / "1").mkdir(parents=True)
    (repo / "junk" / "1" / "model.onnx").write_bytes(b"not a protobuf at all")
    r = requests.post(f"{server.url}/v2/repository/models/junk/load")
    assert r.status_code == 400 and "ONNX" in r.json()["error"], r.text


def test_registry_serves_mlflow_onnx_folders(start_server, tmp_path, monkeypatch):
    import mlflow
    import mlflow.onnx
    from mlflow import MlflowClient
    from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository

    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    server = start_server("--poll-interval-ms", "200", repo=False)
    mlflow.set_tracking_uri(server.url)
    x, signal = data(300, seed=2)
    model = GradientBoostingClassifier(n_estimators=10, random_state=0).fit(x, signal > 0)
    mlflow.onnx.save_model(export(model, x), str(tmp_path / "gb"))
    MlflowArtifactsRepository("mlflow-artifacts:/models/gb/run1",
                              tracking_uri=server.url).log_artifacts(str(tmp_path / "gb"))
    client = MlflowClient(server.url)
    client.create_registered_model("gb")
    client.create_model_version("gb", "mlflow-artifacts:/models/gb/run1")
    deadline = time.monotonic() + 10
    while requests.get(f"{server.url}/v2/models/gb/ready").status_code != 200:
        assert time.monotonic() < deadline, "the registry never served it"
        time.sleep(0.05)
    want = onnxruntime_outputs(export(model, x, zipmap=False), x).ravel()
    np.testing.assert_array_equal(infer(server.url, "gb", x), want)
    assert requests.get(f"{server.url}/v2/models/gb").json()["platform"] == "onnx"

"""The real tritonclient[http], unchanged, against inferd (binary on and off)."""
import json
import shutil

import numpy as np
import pytest
import requests
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from conftest import read_csv, read_expected


@pytest.fixture
def client(server):
    c = httpclient.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    yield c
    c.close()


def test_server_and_model_status(client):
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("breast_cancer")
    assert not client.is_model_ready("nope")
    meta = client.get_model_metadata("breast_cancer")
    assert meta["inputs"][0]["shape"] == [-1, 30]
    index = client.get_model_repository_index()
    assert {m["name"] for m in index} == {"breast_cancer", "diabetes", "iris"}


@pytest.mark.parametrize("binary_in", [True, False])
@pytest.mark.parametrize("binary_out", [True, False, None])
def test_infer_binary_on_and_off(client, binary_in, binary_out):
    _, rows = read_csv("breast_cancer")
    batch = np.array(rows[:64], dtype=np.float32)
    inp = httpclient.InferInput("input__0", list(batch.shape), "FP32")
    inp.set_data_from_numpy(batch, binary_data=binary_in)
    outputs = None if binary_out is None else [
        httpclient.InferRequestedOutput("output__0", binary_data=binary_out)]
    result = client.infer("breast_cancer", [inp], outputs=outputs, request_id="abc")
    got = result.as_numpy("output__0")
    assert got.dtype == np.float32 and got.shape == (64,)
    np.testing.assert_array_equal(got, np.float32(read_expected("breast_cancer")[:64]).ravel())
    assert result.get_response()["id"] == "abc"


def test_multiclass_fp64_and_versions(client):
    _, rows = read_csv("iris")
    batch = np.array(rows, dtype=np.float64)
    inp = httpclient.InferInput("input__0", list(batch.shape), "FP64")
    inp.set_data_from_numpy(batch)
    result = client.infer("iris", [inp], model_version="1")
    np.testing.assert_array_equal(result.as_numpy("output__0"), np.float32(read_expected("iris")))


def test_errors_surface_as_exceptions(client):
    inp = httpclient.InferInput("input__0", [1, 29], "FP32")
    inp.set_data_from_numpy(np.zeros((1, 29), dtype=np.float32))
    with pytest.raises(InferenceServerException, match=r"must be \[rows, 30\]"):
        client.infer("breast_cancer", [inp])
    with pytest.raises(InferenceServerException, match="unknown model 'nope'"):
        client.infer("nope", [inp])


def test_load_and_unload(client):
    client.unload_model("iris")
    assert not client.is_model_ready("iris")
    client.load_model("iris")
    assert client.is_model_ready("iris")


def infer_json_or_binary(client, model, batch, binary_in):
    inp = httpclient.InferInput("input__0", list(batch.shape), "FP32")
    inp.set_data_from_numpy(batch, binary_data=binary_in)
    out = httpclient.InferRequestedOutput("output__0", binary_data=False)
    return client.infer(model, [inp], outputs=[out]).as_numpy("output__0")


def test_json_nan_and_infinity_inputs_as_in_binary(client, server):
    """tritonclient's JSON path writes numpy's NaN (missing) and infinities as the bare
    tokens NaN, Infinity and -Infinity, which Triton reads."""
    _, rows = read_csv("breast_cancer")
    batch = np.array(rows[:6], dtype=np.float32)
    batch[0, 0] = np.nan
    batch[1, ::2] = np.nan
    batch[2, :] = np.nan
    batch[3, 5] = np.inf
    batch[4, 7] = -np.inf
    from_json = infer_json_or_binary(client, "breast_cancer", batch, binary_in=False)
    from_binary = infer_json_or_binary(client, "breast_cancer", batch, binary_in=True)
    np.testing.assert_array_equal(from_json, from_binary)
    np.testing.assert_array_equal(from_json[5:], np.float32(read_expected("breast_cancer")[5:6]).ravel())
    # NaN is a missing value, as JSON null is.
    nulls = [[None if np.isnan(v) else float(v) for v in row] for row in batch[:3]]
    body = {"inputs": [{"name": "input__0", "shape": [3, 30], "datatype": "FP32", "data": nulls}]}
    r = requests.post(server.url + "/v2/models/breast_cancer/infer", json=body)
    assert r.status_code == 200, r.text
    np.testing.assert_array_equal(np.float32(r.json()["outputs"][0]["data"]), from_json[:3])


def overflowing_model(repo, name, leaf):
    """A copy of the diabetes model (50 trees) whose every leaf is `leaf`: with 3e38 the
    sum overflows float to an infinity."""
    shutil.copytree(repo / "diabetes", repo / name)
    path = repo / name / "1" / "model.json"
    model = json.loads(path.read_text())
    for tree in model["learner"]["gradient_booster"]["model"]["trees"]:
        for node, left in enumerate(tree["left_children"]):
            if left == -1:
                tree["split_conditions"][node] = leaf
                tree["base_weights"][node] = leaf
    path.write_text(json.dumps(model))


def test_non_finite_outputs_are_written_as_triton_writes_them(start_server, model_repo):
    overflowing_model(model_repo, "up", 3e38)
    overflowing_model(model_repo, "down", -3e38)
    server = start_server()
    client = httpclient.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    _, rows = read_csv("diabetes")
    batch = np.array(rows[:2], dtype=np.float32)
    for model, token, value in (("up", "Infinity", np.inf), ("down", "-Infinity", -np.inf)):
        np.testing.assert_array_equal(
            infer_json_or_binary(client, model, batch, binary_in=False), [value, value])
        body = {"inputs": [{"name": "input__0", "shape": [2, 10], "datatype": "FP32",
                            "data": batch.tolist()}]}
        r = requests.post(server.url + f"/v2/models/{model}/infer", json=body)
        assert r.status_code == 200 and f'"data":[{token},{token}]' in r.text, r.text
    client.close()

"""The real tritonclient[http], unchanged, against inferd (binary on and off)."""
import numpy as np
import pytest
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

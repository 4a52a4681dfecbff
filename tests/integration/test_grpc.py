"""KServe V2 over gRPC: the real tritonclient[grpc], unchanged, plus the raw KServe messages
(typed contents) and the standard health service, against a real inferd."""
import queue
import signal
import sqlite3
import time

import grpc
import numpy as np
import pytest
import requests
import tritonclient.grpc as grpcclient
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tritonclient.grpc import service_pb2, service_pb2_grpc
from tritonclient.utils import InferenceServerException

from conftest import read_csv, read_expected
from test_metrics import series


@pytest.fixture
def client(server):
    c = grpcclient.InferenceServerClient(url=f"127.0.0.1:{server.grpc_port}")
    yield c
    c.close()


@pytest.fixture
def stub(server):
    channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}")
    yield service_pb2_grpc.GRPCInferenceServiceStub(channel)
    channel.close()


def rows_input(rows, datatype="FP32"):
    batch = np.array(rows, dtype=np.float32 if datatype == "FP32" else np.float64)
    inp = grpcclient.InferInput("input__0", list(batch.shape), datatype)
    inp.set_data_from_numpy(batch)
    return inp


def rest_infer(server, model, rows):
    r = requests.post(f"{server.url}/v2/models/{model}/infer", json={"inputs": [
        {"name": "input__0", "shape": [len(rows), len(rows[0])], "datatype": "FP32",
         "data": rows}]})
    assert r.status_code == 200, r.text
    return np.float32(r.json()["outputs"][0]["data"])


def rest_error(server, model, body):
    r = requests.post(f"{server.url}/v2/models/{model}/infer", json=body)
    assert r.status_code >= 400
    return r.json()["error"]


def wait_for(condition, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    return condition()


def test_health_and_metadata(client, server):
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("breast_cancer")
    assert client.is_model_ready("breast_cancer", "1")
    assert not client.is_model_ready("nope")  # Triton's answer: not ready, not an error
    meta = client.get_server_metadata(as_json=True)
    rest_meta = requests.get(server.url + "/v2").json()
    assert meta["name"] == rest_meta["name"] == "inferd"
    assert meta["version"] == rest_meta["version"]
    assert meta["extensions"] == rest_meta["extensions"]
    model = client.get_model_metadata("breast_cancer", as_json=True)
    rest_model = requests.get(server.url + "/v2/models/breast_cancer").json()
    for key in ("name", "versions", "platform"):
        assert model[key] == rest_model[key]
    assert model["inputs"] == [{"name": "input__0", "datatype": "FP32", "shape": ["-1", "30"]}]
    assert model["outputs"] == [
        {"name": "output__0", "datatype": "FP32", "shape": ["-1"]},
        {"name": "contributions", "datatype": "FP32", "shape": ["-1", "31"]},
        {"name": "leaves", "datatype": "INT32", "shape": ["-1", "100"]}]
    assert client.get_model_metadata("iris", as_json=True)["outputs"][0]["shape"] == ["-1", "3"]


def test_standard_health_service(server):
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "inference.GRPCInferenceService"):
            reply = health.Check(health_pb2.HealthCheckRequest(service=service))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as e:
            health.Check(health_pb2.HealthCheckRequest(service="other"))
        assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_raw_infer_matches_rest_and_libxgboost(client, server):
    _, rows = read_csv("breast_cancer")
    result = client.infer("breast_cancer", [rows_input(rows[:64])], request_id="abc",
                          outputs=[grpcclient.InferRequestedOutput("output__0")])
    got = result.as_numpy("output__0")
    assert got.dtype == np.float32 and got.shape == (64,)
    np.testing.assert_array_equal(got, rest_infer(server, "breast_cancer", rows[:64]))
    np.testing.assert_array_equal(got, np.float32(read_expected("breast_cancer")[:64]).ravel())
    response = result.get_response()
    assert response.id == "abc" and response.model_version == "1"
    assert response.parameters["prediction_id"].string_param
    # Multi-class, FP64 in, versioned.
    _, iris = read_csv("iris")
    result = client.infer("iris", [rows_input(iris, "FP64")], model_version="1")
    np.testing.assert_array_equal(result.as_numpy("output__0"), np.float32(read_expected("iris")))


@pytest.mark.parametrize("datatype,field", [("FP32", "fp32_contents"), ("FP64", "fp64_contents"),
                                            ("INT32", "int_contents"),
                                            ("INT64", "int64_contents")])
def test_typed_contents(stub, server, datatype, field):
    _, rows = read_csv("breast_cancer")
    rows = rows[:16]
    if datatype.startswith("INT"):
        rows = [[float(round(v)) for v in row] for row in rows]
    request = service_pb2.ModelInferRequest(model_name="breast_cancer", id="typed")
    tensor = request.inputs.add(name="input__0", datatype=datatype, shape=[len(rows), 30])
    getattr(tensor.contents, field).extend(
        [int(v) for row in rows for v in row] if datatype.startswith("INT")
        else [v for row in rows for v in row])
    response = stub.ModelInfer(request)
    assert response.id == "typed"
    assert list(response.outputs[0].shape) == [len(rows)]
    got = np.frombuffer(response.raw_output_contents[0], dtype=np.float32)
    np.testing.assert_array_equal(got, rest_infer(server, "breast_cancer", rows))
    if datatype in ("FP32", "FP64"):
        np.testing.assert_array_equal(got, np.float32(read_expected("breast_cancer")[:16]).ravel())


def test_errors_are_status_codes_with_rest_messages(client, server):
    bad = rows_input([[0.0] * 29])
    with pytest.raises(InferenceServerException) as e:
        client.infer("breast_cancer", [bad])
    assert e.value.status() == "StatusCode.INVALID_ARGUMENT"
    assert e.value.message() == rest_error(server, "breast_cancer", {"inputs": [
        {"name": "input__0", "shape": [1, 29], "datatype": "FP32", "data": [0.0] * 29}]})
    assert e.value.message() == "input 'input__0': shape [1,29] must be [rows, 30]"
    with pytest.raises(InferenceServerException) as e:
        client.infer("nope", [rows_input([[0.0] * 30])])
    assert e.value.status() == "StatusCode.NOT_FOUND"
    assert e.value.message() == rest_error(server, "nope", {"inputs": [
        {"name": "input__0", "shape": [1, 30], "datatype": "FP32", "data": [0.0] * 30}]})
    with pytest.raises(InferenceServerException) as e:
        client.infer("breast_cancer", [rows_input([[0.0] * 30])], model_version="7")
    assert e.value.status() == "StatusCode.NOT_FOUND"
    # Triton's RPCs that inferd does not serve.
    with pytest.raises(InferenceServerException) as e:
        client.get_model_config("breast_cancer")
    assert e.value.status() == "StatusCode.UNIMPLEMENTED"


def test_message_over_the_body_limit(start_server):
    server = start_server("--max-body-bytes", "4096")
    client = grpcclient.InferenceServerClient(url=f"127.0.0.1:{server.grpc_port}")
    _, rows = read_csv("breast_cancer")
    assert client.infer("breast_cancer", [rows_input(rows[:8])]).as_numpy("output__0").shape == (8,)
    with pytest.raises(InferenceServerException) as e:
        client.infer("breast_cancer", [rows_input(rows[:64])])  # 7,680 bytes of floats
    assert e.value.status() == "StatusCode.RESOURCE_EXHAUSTED"
    client.close()


def test_async_and_stream_infer(client):
    _, rows = read_csv("breast_cancer")
    expected = np.float32(read_expected("breast_cancer")).ravel()
    done = queue.Queue()
    for i in range(4):
        client.async_infer("breast_cancer", [rows_input(rows[i:i + 1])],
                           callback=lambda result, error, i=i: done.put((i, result, error)),
                           request_id=str(i))
    for _ in range(4):
        i, result, error = done.get(timeout=10)
        assert error is None
        assert result.as_numpy("output__0")[0] == expected[i]

    streamed = queue.Queue()
    client.start_stream(callback=lambda result, error: streamed.put((result, error)))
    for i in range(5):
        client.async_stream_infer("breast_cancer", [rows_input(rows[i:i + 2])], request_id=str(i))
    client.async_stream_infer("nope", [rows_input(rows[:1])], request_id="bad")
    client.async_stream_infer("breast_cancer", [rows_input(rows[7:8])], request_id="after")
    answers = [streamed.get(timeout=10) for _ in range(7)]
    client.stop_stream()
    for i, (result, error) in enumerate(answers[:5]):
        assert error is None
        assert result.get_response().id == str(i)
        np.testing.assert_array_equal(result.as_numpy("output__0"), expected[i:i + 2])
    result, error = answers[5]
    assert result is None and "unknown model 'nope'" in str(error)
    result, error = answers[6]  # the stream goes on after an error
    assert error is None and result.as_numpy("output__0")[0] == expected[7]


def test_repository_index_load_unload(client):
    index = client.get_model_repository_index(as_json=True)["models"]
    assert {m["name"] for m in index} == {"breast_cancer", "diabetes", "iris"}
    assert all(m["state"] == "READY" and m["version"] == "1" for m in index)
    client.unload_model("iris")
    assert not client.is_model_ready("iris")
    ready = client.get_model_repository_index(as_json=True)["models"]
    assert {m["name"] for m in ready} == {"breast_cancer", "diabetes", "iris"}
    client.load_model("iris")
    assert client.is_model_ready("iris")
    with pytest.raises(InferenceServerException) as e:
        client.unload_model("nope")
    assert e.value.status() == "StatusCode.NOT_FOUND"


def test_admin_token_guards_load_and_unload(start_server):
    server = start_server(env={"INFERD_ADMIN_TOKEN": "s3cret"})
    client = grpcclient.InferenceServerClient(url=f"127.0.0.1:{server.grpc_port}")
    with pytest.raises(InferenceServerException) as e:
        client.unload_model("iris")
    assert e.value.status() == "StatusCode.UNAUTHENTICATED"
    assert "admin token" in e.value.message()
    with pytest.raises(InferenceServerException) as e:
        client.unload_model("iris", headers={"authorization": "Bearer wrong"})
    assert e.value.status() == "StatusCode.PERMISSION_DENIED"
    assert client.is_model_ready("iris")  # reads need no token
    client.unload_model("iris", headers={"authorization": "Bearer s3cret"})
    assert not client.is_model_ready("iris")
    client.load_model("iris", headers={"authorization": "Bearer s3cret"})
    assert client.is_model_ready("iris")
    assert not any("s3cret" in line for line in server.log)
    client.close()


def test_prediction_id_is_logged_and_counted_as_grpc(client, server, store_uri):
    _, rows = read_csv("breast_cancer")
    ids = []
    for i in range(3):
        result = client.infer("breast_cancer", [rows_input(rows[i:i + 2])])
        ids.append(result.get_response().parameters["prediction_id"].string_param)
    assert len(set(ids)) == 3
    path = store_uri[len("sqlite:///"):]

    def stored():
        try:
            with sqlite3.connect(path) as db:
                found = {i for (i,) in db.execute("SELECT id FROM predictions")}
        except sqlite3.OperationalError:
            return None
        return found if set(ids) <= found else None

    assert wait_for(stored), "gRPC predictions missing from the prediction log"
    text = requests.get(server.url + "/metrics").text
    assert series(text, "inferd_inference_duration_seconds_count", model="breast_cancer",
                  version="1", protocol="grpc") == 3
    assert series(text, "inferd_inference_rows_total", model="breast_cancer", version="1") == 6


def test_grpc_off_and_graceful_stop(start_server):
    off = start_server("--grpc-port", "-1")
    assert off.grpc_port is None
    assert not any("gRPC on" in line for line in off.log)
    server = start_server()
    client = grpcclient.InferenceServerClient(url=f"127.0.0.1:{server.grpc_port}")
    assert client.is_server_ready()
    client.close()
    assert server.stop(signal.SIGTERM) == 0

"""KServe V2 over HTTP with `requests`: health, metadata, inference, parity."""
import numpy as np
import requests

from conftest import read_csv, read_expected


def infer(server, model, rows, datatype="FP32", path=None, **extra):
    body = {"inputs": [{"name": "input__0", "shape": [len(rows), len(rows[0])],
                        "datatype": datatype, "data": rows}], **extra}
    return requests.post(server.url + (path or f"/v2/models/{model}/infer"), json=body, timeout=10)


def test_health_and_server_metadata(server):
    assert requests.get(server.url + "/v2/health/live").json() == {"live": True}
    assert requests.get(server.url + "/v2/health/ready").json() == {"ready": True}
    meta = requests.get(server.url + "/v2").json()
    assert meta["name"] == "inferd"
    assert "binary_tensor_data" in meta["extensions"]
    assert "model_repository" in meta["extensions"]


def test_model_metadata_uses_triton_fil_names(server):
    meta = requests.get(server.url + "/v2/models/breast_cancer").json()
    assert meta["name"] == "breast_cancer"
    assert meta["versions"] == ["1"]
    assert meta["inputs"] == [{"name": "input__0", "datatype": "FP32", "shape": [-1, 30]}]
    assert meta["outputs"] == [{"name": "output__0", "datatype": "FP32", "shape": [-1]},
                               {"name": "contributions", "datatype": "FP32", "shape": [-1, 31]},
                               {"name": "leaves", "datatype": "INT32", "shape": [-1, 100]}]
    iris = requests.get(server.url + "/v2/models/iris/versions/1").json()
    assert iris["outputs"][0]["shape"] == [-1, 3]
    assert requests.get(server.url + "/v2/models/iris/ready").json() == {"name": "iris", "ready": True}
    assert requests.get(server.url + "/v2/models/iris/versions/1/ready").status_code == 200
    assert requests.get(server.url + "/v2/models/iris/versions/2/ready").status_code == 404


def test_every_row_matches_libxgboost(server):
    for name in ("breast_cancer", "iris", "diabetes"):
        _, rows = read_csv(name)
        expected = np.array(read_expected(name), dtype=np.float32)
        r = infer(server, name, rows)
        assert r.status_code == 200, r.text
        out = r.json()["outputs"][0]
        assert out["name"] == "output__0" and out["datatype"] == "FP32"
        got = np.array(out["data"], dtype=np.float32).reshape(out["shape"])
        assert got.shape == (len(rows),) + ((3,) if name == "iris" else ())
        # Shortest round-trip text: the float32 values come back bit-identical.
        np.testing.assert_array_equal(got.reshape(expected.shape), expected)


def test_flat_data_id_versions_and_datatypes(server):
    _, rows = read_csv("iris")
    expected = np.array(read_expected("iris")[:2], dtype=np.float32).ravel()
    flat = [v for row in rows[:2] for v in row]
    body = {"id": "req-7", "inputs": [{"name": "input__0", "shape": [2, 4], "datatype": "FP32",
                                       "data": flat}]}
    r = requests.post(server.url + "/v2/models/iris/versions/1/infer", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == "req-7"
    assert r.json()["model_version"] == "1"
    np.testing.assert_array_equal(np.float32(r.json()["outputs"][0]["data"]), expected)
    for datatype in ("FP64", "INT32", "INT64"):
        ints = [[5, 3, 1, 0]]
        r = infer(server, "iris", ints, datatype=datatype)
        assert r.status_code == 200, (datatype, r.text)
        assert len(r.json()["outputs"][0]["data"]) == 3


def test_null_means_missing(server):
    r = infer(server, "breast_cancer", [[None] * 30])
    assert r.status_code == 200, r.text
    assert 0 < r.json()["outputs"][0]["data"][0] < 1


def test_requested_outputs_are_honoured(server):
    _, rows = read_csv("breast_cancer")
    r = infer(server, "breast_cancer", rows[:3], outputs=[{"name": "output__0"}])
    assert [o["name"] for o in r.json()["outputs"]] == ["output__0"]
    r = infer(server, "breast_cancer", rows[:3], outputs=[{"name": "output__1"}])
    assert r.status_code == 400
    assert "unknown output 'output__1'" in r.json()["error"]
    # Binary output asked for in JSON: header + raw float32 bytes.
    r = infer(server, "breast_cancer", rows[:3],
              outputs=[{"name": "output__0", "parameters": {"binary_data": True}}])
    assert r.status_code == 200
    n = int(r.headers["Inference-Header-Content-Length"])
    header = r.content[:n].decode()
    assert '"binary_data_size":12' in header
    got = np.frombuffer(r.content[n:], dtype=np.float32)
    np.testing.assert_array_equal(got, np.float32(read_expected("breast_cancer")[:3]).ravel())


def test_margin_output_kind(server, model_repo, start_server):
    (model_repo / "breast_cancer" / "config.json").write_text('{"output_kind": "margin"}')
    margin_server = start_server(repo=model_repo)
    _, rows = read_csv("breast_cancer")
    p = infer(server, "breast_cancer", rows[:1]).json()["outputs"][0]["data"][0]
    m = infer(margin_server, "breast_cancer", rows[:1]).json()["outputs"][0]["data"][0]
    assert abs(1 / (1 + np.exp(-m)) - p) < 1e-6

"""Outputs beyond the prediction, through every protocol: V2 requested outputs `contributions`
(FP32, TreeSHAP with the bias last) and `leaves` (INT32), the request parameters output_kind,
base_margin and iteration_range, V1 `:explain`, and the same over gRPC with tritonclient.
(The values themselves are checked against libxgboost's pred_contribs / pred_leaf in
model_test and against lightgbm's in test_lightgbm.py; here each protocol carries them.)"""
import json

import numpy as np
import requests
import tritonclient.grpc as grpcclient

from conftest import read_csv


def infer(server, model, rows, outputs=None, parameters=None, binary=False):
    body = {"inputs": [{"name": "input__0", "shape": [len(rows), len(rows[0])],
                        "datatype": "FP32", "data": rows}]}
    if outputs:
        body["outputs"] = [{"name": o, "parameters": {"binary_data": binary}} for o in outputs]
    if parameters:
        body["parameters"] = parameters
    return requests.post(f"{server.url}/v2/models/{model}/infer", json=body)


def outputs_by_name(reply):
    assert reply.status_code == 200, reply.text
    return {o["name"]: o for o in reply.json()["outputs"]}


def test_contributions_and_leaves_over_v2_json_and_binary(server):
    _, rows = read_csv("breast_cancer")
    rows = rows[:5]
    got = outputs_by_name(infer(server, "breast_cancer", rows,
                                ["output__0", "contributions", "leaves"],
                                parameters={"output_kind": "margin"}))
    phi = got["contributions"]
    assert phi["datatype"] == "FP32" and phi["shape"] == [5, 31]
    margins = np.float32(got["output__0"]["data"])
    # Contributions add up to the margin, the bias last.
    sums = np.float32(phi["data"]).reshape(5, 31).sum(axis=1)
    np.testing.assert_allclose(sums, margins, rtol=1e-5, atol=1e-5)
    leaves = got["leaves"]
    assert leaves["datatype"] == "INT32" and leaves["shape"] == [5, 100]
    assert all(isinstance(v, int) for v in leaves["data"])

    r = infer(server, "breast_cancer", rows, ["contributions", "leaves"], binary=True)
    n = int(r.headers["Inference-Header-Content-Length"])
    header = json.loads(r.content[:n])
    assert [o["datatype"] for o in header["outputs"]] == ["FP32", "INT32"]
    body = r.content[n:]
    np.testing.assert_array_equal(np.frombuffer(body[:5 * 31 * 4], dtype=np.float32),
                                  np.float32(phi["data"]))
    np.testing.assert_array_equal(np.frombuffer(body[5 * 31 * 4:], dtype=np.int32),
                                  leaves["data"])


def test_multiclass_contributions_per_class(server):
    _, rows = read_csv("iris")
    got = outputs_by_name(infer(server, "iris", rows[:4], ["contributions"]))
    assert got["contributions"]["shape"] == [4, 3, 5]
    meta = requests.get(server.url + "/v2/models/iris").json()
    assert {"name": "contributions", "datatype": "FP32", "shape": [-1, 3, 5]} in meta["outputs"]


def test_request_parameters(server):
    _, rows = read_csv("breast_cancer")
    rows = rows[:4]

    def output(**parameters):
        return np.float32(outputs_by_name(infer(server, "breast_cancer", rows,
                                                parameters=parameters))["output__0"]["data"])

    probability, margin = output(), output(output_kind="margin")
    np.testing.assert_allclose(1 / (1 + np.exp(-margin)), probability, rtol=1e-6)
    # base_margin replaces the base score (0 in margin space for base_score 0.5).
    shifted = output(output_kind="margin", base_margin=[1.0, 2.0, -1.0, 0.0])
    np.testing.assert_allclose(shifted - margin, [1.0, 2.0, -1.0, 0.0], atol=1e-5)
    first_ten = output(output_kind="margin", iteration_range=[0, 10])
    rest = output(output_kind="margin", iteration_range=[10, 100])
    np.testing.assert_allclose(first_ten + rest, margin, atol=1e-4)
    leaves = outputs_by_name(infer(server, "breast_cancer", rows, ["leaves"],
                                   parameters={"iteration_range": [10, 30]}))["leaves"]
    assert leaves["shape"] == [4, 20]
    for parameters, message in [({"iteration_range": [5, 500]}, "iteration_range"),
                                ({"base_margin": [1.0]}, "base_margin has 1 values"),
                                ({"output_kind": "logit"}, "output_kind must be")]:
        r = infer(server, "breast_cancer", rows, parameters=parameters)
        assert r.status_code == 400 and message in r.json()["error"], r.text
    r = infer(server, "breast_cancer", rows, ["importance"])
    assert r.status_code == 400 and "'contributions' and 'leaves'" in r.json()["error"]


def test_v1_explain_names_every_feature(server):
    names, rows = read_csv("breast_cancer")
    r = requests.post(f"{server.url}/v1/models/breast_cancer:explain",
                      json={"instances": [dict(zip(names, rows[0])), rows[1]]})
    assert r.status_code == 200, r.text
    explanations = r.json()["explanations"]
    assert len(explanations) == 2 and set(explanations[0]["contributions"]) == set(names)
    v2 = outputs_by_name(infer(server, "breast_cancer", rows[:2], ["contributions"]))
    phi = np.float32(v2["contributions"]["data"]).reshape(2, 31)
    for row, explanation in zip(phi, explanations):
        np.testing.assert_array_equal(
            np.float32([explanation["contributions"][n] for n in names] + [explanation["bias"]]),
            row)
    r = requests.post(f"{server.url}/v1/models/iris:explain",
                      json={"instances": [read_csv("iris")[1][0]]})
    assert r.status_code == 200 and len(r.json()["explanations"][0]) == 3  # one per class


def test_grpc_outputs_and_parameters(server):
    client = grpcclient.InferenceServerClient(f"127.0.0.1:{server.grpc_port}")
    _, rows = read_csv("breast_cancer")
    x = np.float32(rows[:3])
    tensor = grpcclient.InferInput("input__0", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x)
    wanted = [grpcclient.InferRequestedOutput(n) for n in ("output__0", "contributions", "leaves")]
    result = client.infer("breast_cancer", [tensor], outputs=wanted,
                          parameters={"output_kind": "margin", "iteration_range": "[0, 50]"})
    rest = outputs_by_name(infer(server, "breast_cancer", rows[:3],
                                 ["output__0", "contributions", "leaves"],
                                 parameters={"output_kind": "margin", "iteration_range": [0, 50]}))
    np.testing.assert_array_equal(result.as_numpy("output__0"), np.float32(rest["output__0"]["data"]))
    np.testing.assert_array_equal(result.as_numpy("contributions").ravel(),
                                  np.float32(rest["contributions"]["data"]))
    leaves = result.as_numpy("leaves")
    assert leaves.dtype == np.int32 and leaves.shape == (3, 50)
    np.testing.assert_array_equal(leaves.ravel(), rest["leaves"]["data"])
    shifted = client.infer("breast_cancer", [tensor],
                           outputs=[grpcclient.InferRequestedOutput("output__0")],
                           parameters={"output_kind": "margin", "base_margin": "[1, 1, 1]"})
    plain = client.infer("breast_cancer", [tensor],
                         outputs=[grpcclient.InferRequestedOutput("output__0")],
                         parameters={"output_kind": "margin"})
    np.testing.assert_allclose(shifted.as_numpy("output__0") - plain.as_numpy("output__0"), 1,
                               atol=1e-5)


def test_libxgboost_runtime_gives_the_same_outputs(start_server, model_repo, tmp_path):
    """A model forced onto libxgboost answers contributions, leaves and every parameter
    through libxgboost's own pred_contribs / pred_leaf / iteration_range / base_margin, equal
    to the native engine's."""
    native = start_server()
    repo = tmp_path / "forced"
    (repo / "breast_cancer").mkdir(parents=True)
    for name in ("1",):
        (repo / "breast_cancer" / name).symlink_to(model_repo / "breast_cancer" / name)
    config = json.loads((model_repo / "breast_cancer" / "config.json").read_text())
    (repo / "breast_cancer" / "config.json").write_text(json.dumps({**config, "runtime": "xgboost"}))
    forced = start_server(repo=repo)
    assert requests.get(forced.url + "/v2/models/breast_cancer").json()[
        "parameters"]["runtime"] == "xgboost"
    _, rows = read_csv("breast_cancer")
    for parameters in ({}, {"output_kind": "margin", "iteration_range": [0, 60]},
                       {"base_margin": [0.5, -0.5, 1, 2]}):
        want = outputs_by_name(infer(native, "breast_cancer", rows[:4],
                                     ["output__0", "contributions", "leaves"], parameters))
        got = outputs_by_name(infer(forced, "breast_cancer", rows[:4],
                                    ["output__0", "contributions", "leaves"], parameters))
        assert got == want, parameters
    r = infer(forced, "breast_cancer", rows[:4], ["contributions"],
              {"iteration_range": [5, 60]})
    assert r.status_code == 400 and "from round 0 only" in r.json()["error"]
    r = infer(forced, "breast_cancer", rows[:4], ["leaves"], {"iteration_range": [5, 60]})
    assert r.status_code == 400 and "from round 0 only" in r.json()["error"]
    # A row with an infinity: a DMatrix refuses it, so libxgboost's outputs do too.
    body = json.dumps({"inputs": [{"name": "input__0", "shape": [1, 30], "datatype": "FP32",
                                   "data": [1e39] + rows[0][1:]}],
                       "outputs": [{"name": "contributions"}]}).replace("1e+39", "Infinity")
    r = requests.post(f"{forced.url}/v2/models/breast_cancer/infer", data=body)
    assert r.status_code == 400 and "refuses the rows" in r.json()["error"], r.text


def test_declared_missing_value_reads_as_missing(start_server, model_repo):
    config = model_repo / "breast_cancer" / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "missing_value": -999}))
    server = start_server()
    _, rows = read_csv("breast_cancer")
    sentinel = [[-999.0 if c % 3 == 0 else v for c, v in enumerate(row)] for row in rows[:20]]
    holes = [[None if c % 3 == 0 else v for c, v in enumerate(row)] for row in rows[:20]]
    got = outputs_by_name(infer(server, "breast_cancer", sentinel, ["output__0", "contributions"]))
    want = outputs_by_name(infer(server, "breast_cancer", holes, ["output__0", "contributions"]))
    assert got == want
    assert got["output__0"] != outputs_by_name(
        infer(server, "breast_cancer", rows[:20]))["output__0"]

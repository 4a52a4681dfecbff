"""Live accuracy: ground truth posted after the fact joins to logged predictions, and the
metrics equal numpy's on the same labels and outputs."""
import numpy as np
import requests

from conftest import DATA, read_csv


def auc(labels, scores):
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    s = np.asarray(scores)[order]
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j < len(s) and s[j] == s[i]:
            j += 1
        ranks[order[i:j]] = (i + j + 1) / 2
        i = j
    pos = labels == 1
    n1, n0 = pos.sum(), (~pos).sum()
    return (ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)


def test_feedback_joins_and_scores(start_server):
    server = start_server("--performance-window-rows", "300")
    names, rows = read_csv("breast_cancer")
    labels = np.loadtxt(DATA / "breast_cancer.csv", delimiter=",", skiprows=1, usecols=30)
    scores, truth = [], []
    for i in range(0, 200, 20):
        body = {"inputs": [{"name": "input__0", "shape": [20, 30], "datatype": "FP32",
                            "data": rows[i:i + 20]}]}
        r = requests.post(server.url + "/v2/models/breast_cancer/infer", json=body).json()
        out = r["outputs"][0]["data"]
        y = labels[i:i + 20].tolist()
        fb = requests.post(server.url + "/v1/feedback",
                           json={"prediction_id": r["parameters"]["prediction_id"],
                                 "ground_truth": y})
        assert fb.status_code == 200 and fb.json() == {"recorded": True, "joined": True}
        scores += out
        truth += y
    report = requests.get(server.url + "/v1/models/breast_cancer/performance").json()
    version = report["versions"][0]
    assert version["kind"] == "binary" and version["rows"] == 200
    y, p = np.array(truth), np.array(scores, dtype=np.float64)
    pc = np.clip(p, 1e-15, 1 - 1e-15)
    logloss = -np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc))
    accuracy = np.mean((p >= 0.5) == (y == 1))
    assert abs(version["metrics"]["auc"] - auc(y, p)) < 1e-9
    assert abs(version["metrics"]["logloss"] - logloss) < 1e-6
    assert abs(version["metrics"]["accuracy"] - accuracy) < 1e-12
    # History: the first feedback of the (default 60 s) interval scored the window then.
    first = version["history"][0]
    assert first["rows"] == 20 and first["time"] > 0
    assert abs(first["metrics"]["auc"] - auc(y[:20], p[:20])) < 1e-9
    metrics = requests.get(server.url + "/metrics").text
    assert 'inferd_live_metric{model="breast_cancer",version="1",metric="auc"}' in metrics
    assert 'inferd_live_labelled_rows{model="breast_cancer",version="1"} 200' in metrics

    bad = requests.post(server.url + "/v1/feedback",
                        json={"prediction_id": r["parameters"]["prediction_id"],
                              "ground_truth": [1, 0]})
    assert bad.status_code == 400 and "has 20 rows; feedback has 2 labels" in bad.json()["error"]
    unknown = requests.post(server.url + "/v1/feedback",
                            json={"prediction_id": "f" * 32, "ground_truth": 1})
    assert unknown.status_code == 200 and unknown.json()["joined"] is False


def test_feedback_for_a_prediction_from_another_replica_joins_through_the_store(
        start_server, store_uri, tmp_path):
    first = start_server()
    _, rows = read_csv("iris")
    body = {"inputs": [{"name": "input__0", "shape": [1, 4], "datatype": "FP32",
                        "data": rows[0]}]}
    pid = requests.post(first.url + "/v2/models/iris/infer", json=body).json()["parameters"][
        "prediction_id"]
    first.stop()  # flushes its prediction log into the shared store
    second = start_server()
    fb = requests.post(second.url + "/v1/feedback", json={"prediction_id": pid, "ground_truth": 0})
    assert fb.json()["joined"] is True
    report = requests.get(second.url + "/v1/models/iris/performance").json()
    assert report["versions"][0]["kind"] == "multiclass"
    assert report["versions"][0]["metrics"]["accuracy"] == 1.0

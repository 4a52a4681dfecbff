"""Drift end to end: a model trained by inferd carries its dataset's profile; samples of the
training data show no drift, shifted data does, and the PSI/KS the server reports equal
what numpy computes from the same bins and rows."""
import json
import subprocess
import time

import numpy as np
import requests

from conftest import BINARY, DATA, read_csv


def psi_and_ks(reference, live_values):
    """PSI on the reference's decile bins and KS at its percentiles, computed here."""
    edges = np.array(reference["histogram"]["edges"])
    ref_p = np.array(reference["histogram"]["reference"])
    bins = np.searchsorted(edges, live_values, side="left")  # (edge[i-1], edge[i]]
    live_p = np.bincount(bins, minlength=len(ref_p)) / len(live_values)
    a, e = np.maximum(live_p, 1e-4), np.maximum(ref_p, 1e-4)
    return float(np.sum((a - e) * np.log(a / e))), live_p


def test_drift_against_the_training_profile(start_server, store_uri):
    p = subprocess.run([str(BINARY), "--store", store_uri, "train", "--data",
                        str(DATA / "breast_cancer.csv"), "--target", "target",
                        "--register", "cancer", "--alias", "production", "--num-rounds", "10"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    server = start_server("--drift-window-rows", "400", "--drift-min-rows", "100",
                          repo=False, store=store_uri)
    names, rows = read_csv("breast_cancer")
    rows = np.array(rows, dtype=np.float32)

    def send(batch):
        predictions = []
        for start in range(0, len(batch), 50):
            chunk = batch[start:start + 50]
            body = {"inputs": [{"name": "input__0", "shape": list(chunk.shape),
                                "datatype": "FP32", "data": chunk.ravel().tolist()}]}
            r = requests.post(server.url + "/v2/models/cancer/infer", json=body)
            assert r.status_code == 200
            predictions += r.json()["outputs"][0]["data"]
        return np.array(predictions, dtype=np.float32)

    # The training rows themselves: no drift.
    rng = np.random.default_rng(0)
    same = rows[rng.choice(len(rows), 400, replace=False)]
    predicted = send(same)
    report = requests.get(server.url + "/v1/models/cancer/drift").json()
    # The prediction distribution, against the training holdout's predictions.
    prediction = report["prediction"]
    psi, live_p = psi_and_ks(prediction, predicted)
    assert abs(prediction["psi"] - psi) < 1e-9
    np.testing.assert_allclose(prediction["histogram"]["live"], live_p, atol=1e-12)
    assert report["window_rows"] == 400 and report["enough_rows"]
    assert report["dataset_drift"] is False
    assert report["thresholds"]["psi"] == 0.2
    radius = next(f for f in report["features"] if f["name"] == "mean_radius")
    psi, live_p = psi_and_ks(radius, same[:, names.index("mean_radius")])
    assert radius["psi"] == np.float64(psi) or abs(radius["psi"] - psi) < 1e-9
    np.testing.assert_allclose(radius["histogram"]["live"], live_p, atol=1e-12)

    # Every feature scaled by 1.5: the window fills with drifted rows.
    shifted = same * 1.5
    send(shifted)
    report = requests.get(server.url + "/v1/models/cancer/drift").json()
    assert report["dataset_drift"] is True and report["drifting_share"] >= 0.5
    radius = next(f for f in report["features"] if f["name"] == "mean_radius")
    psi, _ = psi_and_ks(radius, shifted[:, names.index("mean_radius")])
    assert abs(radius["psi"] - psi) < 1e-9 and radius["drift"] is True

    metrics = requests.get(server.url + "/metrics").text
    assert 'inferd_drift_detected{model="cancer",version="1"} 1' in metrics
    assert 'inferd_drift_psi{model="cancer",version="1",feature="mean_radius"}' in metrics
    assert 'inferd_prediction_drift_psi{model="cancer",version="1"}' in metrics


def test_models_without_a_reference_say_why(server):
    r = requests.get(server.url + "/v1/models/iris/drift")
    assert r.status_code == 404 and "no reference profile" in r.json()["error"]


def test_a_model_folder_names_its_reference_dataset(start_server, model_repo, store_uri):
    p = subprocess.run([str(BINARY), "--store", store_uri, "datasets", "add",
                        str(DATA / "breast_cancer.csv"), "--name", "cancer-data"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    config = model_repo / "breast_cancer" / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()),
                                  "reference_dataset": "cancer-data@1"}))
    server = start_server("--drift-min-rows", "10", repo=model_repo, store=store_uri)
    _, rows = read_csv("breast_cancer")
    body = {"inputs": [{"name": "input__0", "shape": [50, 30], "datatype": "FP32",
                        "data": rows[:50]}]}
    assert requests.post(server.url + "/v2/models/breast_cancer/infer", json=body).status_code == 200
    report = requests.get(server.url + "/v1/models/breast_cancer/drift").json()
    assert report["window_rows"] == 50 and len(report["features"]) == 30


def test_multiclass_prediction_drift_uses_class_frequencies(start_server, store_uri):
    p = subprocess.run([str(BINARY), "--store", store_uri, "train", "--data",
                        str(DATA / "iris.csv"), "--target", "target", "--register", "iris",
                        "--num-rounds", "5", "--seed", "2"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    server = start_server("--drift-min-rows", "10", repo=False, store=store_uri)
    _, rows = read_csv("iris")
    setosa = [r for r in rows if r[2] < 2.5][:40]  # petal length: all predicted class 0
    body = {"inputs": [{"name": "input__0", "shape": [len(setosa), 4], "datatype": "FP32",
                        "data": setosa}]}
    out = requests.post(server.url + "/v2/models/iris/infer", json=body).json()
    classes = np.array(out["outputs"][0]["data"]).reshape(-1, 3).argmax(axis=1)
    prediction = requests.get(server.url + "/v1/models/iris/drift").json()["prediction"]
    categories = prediction["histogram"]["categories"]  # most frequent first, then "other"
    reference = np.array(prediction["histogram"]["reference"])
    live = np.array([np.mean(classes == int(c)) if c != "other" else 0.0 for c in categories])
    mid = (live + reference) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        js = np.sqrt(0.5 * np.nansum(np.where(live > 0, live * np.log2(live / mid), 0)) +
                     0.5 * np.nansum(np.where(reference > 0, reference * np.log2(reference / mid), 0)))
    assert abs(prediction["js"] - js) < 1e-9
    assert prediction["drift"] is True  # only one class where the holdout had three

"""The MLOps loop on both stores: train, register, serve, log every prediction, feedback;
and a MongoDB outage in the middle of traffic loses nothing."""
import datetime
import json
import sqlite3
import subprocess
import threading
import time
import uuid

import numpy as np
import pymongo
import pytest
import requests

from conftest import BINARY, DATA, EXTERNAL_MONGODB_URI, read_csv, with_database

CSV = DATA / "breast_cancer.csv"


def train(store_uri):
    p = subprocess.run([str(BINARY), "--store", store_uri, "train", "--data", str(CSV),
                        "--target", "target", "--register", "cancer", "--alias", "production",
                        "--num-rounds", "20", "--seed", "1"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "round 20/20" in p.stdout and "holdout auc" in p.stdout
    assert "registered cancer version 1 as @production" in p.stdout


def infer(server, rows):
    body = {"inputs": [{"name": "input__0", "shape": [len(rows), 30], "datatype": "FP32",
                        "data": rows}]}
    return requests.post(server.url + "/v2/models/cancer/infer", json=body, timeout=10)


def wait_for(check, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    return check()


def decode(values, shape):
    """float32 bytes (SQLite BLOB, BSON binary) as rows, the way docs/store.md reads them;
    a record of the old layout (not yet migrated) has a list of numbers instead."""
    if isinstance(values, list):
        return np.array([np.nan if v is None else v for v in values], np.float32).reshape(shape)
    return np.frombuffer(bytes(values), dtype="<f4").reshape(shape)


class Records:
    """Reads prediction and feedback records straight from the store, as an operator would
    (the docs/store.md examples)."""

    def __init__(self, kind, uri):
        self.kind, self.uri = kind, uri

    def predictions(self):
        if self.kind == "mongodb":
            with pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=2000) as client:
                out = {}
                for d in client.get_default_database().predictions.find():
                    for t in ("inputs", "outputs"):
                        d[t] = decode(d[t]["data"], d[t]["shape"])
                    out[d["_id"]] = d
                return out
        path = self.uri[len("sqlite:///"):]
        with sqlite3.connect(path) as db:
            db.row_factory = sqlite3.Row
            out = {}
            for row in db.execute("SELECT * FROM predictions"):
                d = dict(row)
                d["inputs"] = decode(d["inputs"], (d["rows"], -1))
                d["outputs"] = decode(d["outputs"], (d["rows"], -1))
                out[d["id"]] = d
            return out

    def feedback(self, prediction_id):
        if self.kind == "mongodb":
            with pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=2000) as client:
                return client.get_default_database().feedback.find_one({"_id": prediction_id})
        path = self.uri[len("sqlite:///"):]
        with sqlite3.connect(path) as db:
            row = db.execute("SELECT doc FROM feedback WHERE id = ?", (prediction_id,)).fetchone()
            return json.loads(row[0]) if row else None


@pytest.fixture(params=["sqlite", "ferretdb"] + (["mongodb"] if EXTERNAL_MONGODB_URI else []))
def backend(request, store_uri):
    if request.param == "sqlite":
        return "sqlite", store_uri
    if request.param == "mongodb":
        return "mongodb", with_database(EXTERNAL_MONGODB_URI, f"inferd_test_{uuid.uuid4().hex}")
    db = request.getfixturevalue("ferretdb")
    return "mongodb", db.uri()


def test_train_serve_log_and_feedback(backend, start_server):
    kind, uri = backend
    train(uri)
    server = start_server(repo=False, store=uri)
    names, rows = read_csv("breast_cancer")
    ids = []
    for i in range(25):
        r = infer(server, rows[i:i + 2])
        assert r.status_code == 200, r.text
        pid = r.json()["parameters"]["prediction_id"]
        assert r.headers["X-Prediction-Id"] == pid
        ids.append(pid)
    # The trained model carries its feature names, so V1 rows may be objects.
    v1 = requests.post(server.url + "/v1/models/cancer:predict",
                       json={"instances": [dict(zip(names, rows[0]))]})
    assert v1.status_code == 200, v1.text
    ids.append(v1.json()["prediction_id"])
    records = Records(kind, uri)
    stored = wait_for(lambda: (lambda p: p if len(p) == len(ids) else None)(records.predictions()))
    assert stored is not None and set(stored) == set(ids), "".join(server.log)[-3000:]
    first = stored[ids[0]]
    assert first["model"] == "cancer" and first["version"] == 1
    assert first["inputs"].shape == (2, 30) and first["outputs"].shape == (2, 1)
    np.testing.assert_array_equal(first["inputs"], np.float32(rows[0:2]))  # float32, exactly
    assert first["latency_us"] >= 0 and first["kind"] == "binary"
    # The id starts with the record's time (ms, 12 hex digits); MongoDB keeps it as a date.
    t = first["time"]
    ms = int(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000) if kind == "mongodb" else t
    assert ms == int(ids[0][:12], 16)

    r = requests.post(server.url + "/v1/feedback", json={"prediction_id": ids[0], "ground_truth": [0, 0]})
    assert r.status_code == 200, r.text
    assert records.feedback(ids[0])["ground_truth"] == [0, 0]
    r = requests.post(server.url + "/v1/feedback", json={"ground_truth": 1})
    assert r.status_code == 400 and "prediction_id" in r.json()["error"]


def test_mongodb_outage_spools_and_replays_exactly(ferretdb, start_server, tmp_path):
    uri = ferretdb.uri()
    train(uri)
    spool = tmp_path / "outage-spool"
    server = start_server("--spool-dir", str(spool), repo=False, store=uri)
    _, rows = read_csv("breast_cancer")
    sent, failures, stop = [], [], threading.Event()

    def traffic():
        with requests.Session() as s:
            i = 0
            while not stop.is_set():
                body = {"inputs": [{"name": "input__0", "shape": [1, 30], "datatype": "FP32",
                                    "data": rows[i % len(rows)]}]}
                r = s.post(server.url + "/v2/models/cancer/infer", json=body, timeout=10)
                if r.status_code == 200:
                    sent.append(r.json()["parameters"]["prediction_id"])
                else:
                    failures.append(r.text)
                i += 1
                time.sleep(0.002)

    thread = threading.Thread(target=traffic)
    thread.start()
    try:
        time.sleep(1.0)
        ferretdb.stop()  # the database goes away mid-load
        before = len(sent)
        assert wait_for(lambda: (spool / "predictions.spool").exists() and
                        (spool / "predictions.spool").stat().st_size > 0, timeout=30)
        # Inference keeps answering while the database is gone.
        assert wait_for(lambda: len(sent) > before + 100, timeout=20)
        assert (spool / "predictions.spool").stat().st_size > 0
        ferretdb.start()
        time.sleep(1.0)
    finally:
        stop.set()
        thread.join()
    assert failures == []
    records = Records("mongodb", uri)
    stored = wait_for(lambda: (lambda p: p if len(p) >= len(sent) else None)(records.predictions()),
                      timeout=60)
    assert stored is not None
    assert len(stored) == len(sent)  # every request, exactly once
    assert set(stored) == set(sent)
    assert wait_for(lambda: (spool / "predictions.spool").stat().st_size == 0)

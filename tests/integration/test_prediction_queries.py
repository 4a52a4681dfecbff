"""The prediction log read back: GET /v1/predictions, `inferd predictions export`,
`inferd predictions migrate` for records of the old JSON layout, and
`inferd datasets add --from-predictions` feeding `inferd train`."""
import csv
import json
import sqlite3
import subprocess
import time

import numpy as np
import pymongo
import pytest
import requests

from conftest import BINARY, DATA, read_csv
from test_prediction_log import Records, infer, train, wait_for

URL = "/v1/predictions"


@pytest.fixture(params=["sqlite", "ferretdb"])
def backend(request, store_uri):
    if request.param == "sqlite":
        return "sqlite", store_uri
    return "mongodb", request.getfixturevalue("ferretdb").uri()


def lines(response):
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/x-ndjson"
    return [json.loads(line) for line in response.text.splitlines()]


def cli(store_uri, *args, timeout=120):
    return subprocess.run([str(BINARY), "--store", store_uri, *args], capture_output=True,
                          text=True, timeout=timeout)


def serve_and_predict(start_server, uri, count, rows_per_request=1):
    """Trains `cancer`, serves it, sends `count` requests; returns (server, ids, rows)."""
    train(uri)
    server = start_server(repo=False, store=uri)
    _, rows = read_csv("breast_cancer")
    ids = []
    for i in range(count):
        batch = rows[i:i + rows_per_request]
        r = infer(server, batch)
        assert r.status_code == 200, r.text
        ids.append(r.json()["parameters"]["prediction_id"])
    records = Records(*uri_kind(uri))
    assert wait_for(lambda: len(records.predictions()) >= count), "".join(server.log)[-2000:]
    return server, ids, rows


def uri_kind(uri):
    return ("sqlite" if uri.startswith("sqlite") else "mongodb"), uri


def test_pages_filters_and_ground_truth(backend, start_server):
    _, uri = backend
    server, ids, rows = serve_and_predict(start_server, uri, 25, rows_per_request=2)
    for i in (3, 7):
        r = requests.post(server.url + "/v1/feedback",
                          json={"prediction_id": ids[i], "ground_truth": [1, 0]})
        assert r.status_code == 200 and r.json()["joined"], r.text

    # Pages of 10 through the cursor: every record once, in time order.
    seen, cursor, pages = [], None, 0
    while True:
        params = {"model": "cancer", "limit": 10, **({"cursor": cursor} if cursor else {})}
        r = requests.get(server.url + URL, params=params)
        page = lines(r)
        seen += page
        pages += 1
        cursor = r.headers.get("X-Next-Cursor")
        if not cursor:
            break
        assert len(page) == 10 and cursor == page[-1]["id"]
    assert pages == 3 and [p["id"] for p in seen] == ids
    first = seen[0]
    assert first["model"] == "cancer" and first["version"] == 1 and first["kind"] == "binary"
    np.testing.assert_array_equal(np.float32(first["inputs"]), np.float32(rows[0:2]))
    assert len(first["outputs"]) == 2 and 0 <= first["outputs"][0] <= 1
    assert first["time"] == int(first["id"][:12], 16)
    truths = {p["id"]: p.get("ground_truth") for p in seen}
    assert truths[ids[3]] == [1, 0] and truths[ids[7]] == [1, 0]
    assert sum(t is not None for t in truths.values()) == 2

    # A time range [since, until) of exactly the records between two of them.
    since, until = seen[5]["time"], seen[20]["time"]
    window = lines(requests.get(server.url + URL,
                                params={"model": "cancer", "since": since, "until": until,
                                        "limit": 1000}))
    assert [p["id"] for p in window] == [p["id"] for p in seen if since <= p["time"] < until]
    # RFC 3339 and durations work as well; another model or version has nothing.
    assert len(lines(requests.get(server.url + URL, params={"since": "1h", "limit": 1000}))) == 25
    assert lines(requests.get(server.url + URL,
                              params={"since": "2020-01-01T00:00:00Z", "limit": 5}))[0]["id"] == ids[0]
    assert lines(requests.get(server.url + URL, params={"model": "cancer", "version": 2})) == []
    assert lines(requests.get(server.url + URL, params={"model": "nope"})) == []


@pytest.mark.parametrize("query, message", [
    ("limit=0", "'limit'"), ("limit=1001", "'limit'"), ("limit=x", "'limit'"),
    ("version=-1", "'version'"), ("since=yesterday", "not a time"),
    ("cursor=../../etc", "'cursor'"), ("model=a&model=b", "more than once"),
    ("since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "'until'"),
])
def test_bad_queries_are_400(server, query, message):
    r = requests.get(server.url + URL + "?" + query)
    assert r.status_code == 400 and message in r.json()["error"], r.text


def test_the_route_needs_the_admin_token_when_one_is_set(start_server):
    server = start_server(env={"INFERD_ADMIN_TOKEN": "s3cret"})
    assert requests.get(server.url + URL).status_code == 401
    r = requests.get(server.url + URL, headers={"Authorization": "Bearer s3cret"})
    assert r.status_code == 200 and r.text == ""


LEGACY = {"model": "cancer", "version": 1, "time": 1790000000000, "latency_us": 12,
          "kind": "binary", "inputs": {"shape": [1, 30], "data": [0.5] * 29 + [None]},
          "outputs": {"shape": [1, 1], "data": [0.25]}}
LEGACY_ID = f"{1790000000000:012x}" + "0" * 19 + "1"


def test_legacy_json_records_stay_readable_and_migrate(backend, start_server, tmp_path):
    kind, uri = backend
    assert int(LEGACY_ID[:12], 16) == LEGACY["time"]
    if kind == "sqlite":  # a database written by an inferd before the compact layout
        path = uri[len("sqlite:///"):]
        (tmp_path / "store").mkdir(exist_ok=True)
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE predictions (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
            db.execute("INSERT INTO predictions VALUES (?, ?)", (LEGACY_ID, json.dumps(LEGACY)))
    else:
        with pymongo.MongoClient(uri) as client:
            client.get_default_database().predictions.insert_one({"_id": LEGACY_ID, **LEGACY})
    server, ids, _ = serve_and_predict(start_server, uri, 3)
    # Feedback joins to the old record (read back from the store: not in the cache).
    r = requests.post(server.url + "/v1/feedback",
                      json={"prediction_id": LEGACY_ID, "ground_truth": 1})
    assert r.status_code == 200 and r.json()["joined"], r.text

    p = cli(uri, "predictions", "migrate")
    assert p.returncode == 0, p.stderr
    assert "migrated 1 prediction records" in p.stdout
    assert "migrated 0 " in cli(uri, "predictions", "migrate").stdout  # nothing left
    got = lines(requests.get(server.url + URL, params={"model": "cancer", "limit": 10}))
    assert [g["id"] for g in got] == [LEGACY_ID] + ids
    old = got[0]
    assert old["inputs"] == [[0.5] * 29 + [None]] and old["outputs"] == [0.25]
    assert old["time"] == LEGACY["time"] and old["ground_truth"] == 1
    stored = Records(kind, uri).predictions()[LEGACY_ID]
    assert stored["inputs"].dtype == np.float32 and np.isnan(stored["inputs"][0, 29])


def test_export_and_a_dataset_from_predictions_retrain(start_server, store_uri, tmp_path):
    server, ids, rows = serve_and_predict(start_server, store_uri, 40, rows_per_request=2)
    labels = [int(line.split(",")[-1]) for line in
              (DATA / "breast_cancer.csv").read_text().splitlines()[1:]]
    for i in range(0, 40, 2):  # half the requests get their ground truth
        r = requests.post(server.url + "/v1/feedback",
                          json={"prediction_id": ids[i], "ground_truth": labels[i:i + 2]})
        assert r.status_code == 200, r.text

    out = tmp_path / "export.ndjson"
    p = cli(store_uri, "predictions", "export", "--model", "cancer", "--since", "1h",
            "--output", str(out))
    assert p.returncode == 0, p.stderr
    assert "exported 40 predictions" in p.stderr
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["id"] for e in exported] == ids
    assert exported[0]["ground_truth"] == labels[0:2] and "ground_truth" not in exported[1]

    out = tmp_path / "export.csv"
    p = cli(store_uri, "predictions", "export", "--model", "cancer", "--format", "csv",
            "--output", str(out))
    assert p.returncode == 0, p.stderr
    table = list(csv.DictReader(out.open()))
    names, _ = read_csv("breast_cancer")
    assert list(table[0])[:5] == ["id", "row", "time", "model", "version"]
    assert list(table[0])[5:35] == names  # the training data's feature names
    assert len(table) == 80 and table[0]["ground_truth"] == str(labels[0])
    assert table[2]["ground_truth"] == ""  # the second request has no feedback
    assert float(table[1][names[3]]) == pytest.approx(rows[1][3], rel=1e-6)
    bad = cli(store_uri, "predictions", "export", "--format", "csv")
    assert bad.returncode != 0 and "--model" in bad.stderr

    # The labelled rows become a dataset version that `inferd train` takes.
    data = tmp_path / "feedback.csv"
    p = cli(store_uri, "datasets", "add", "--from-predictions", "cancer", "--since", "1h",
            "--name", "cancer-production", "--output", str(data))
    assert p.returncode == 0, p.stderr
    assert "wrote 40 labelled rows of 20 predictions" in p.stdout
    assert "dataset cancer-production@1" in p.stdout and "40 rows, 31 columns" in p.stdout
    header = data.read_text().splitlines()[0].split(",")
    assert header == names + ["target"]
    p = cli(store_uri, "train", "--dataset", "cancer-production", "--target", "target",
            "--register", "cancer", "--num-rounds", "5")
    assert p.returncode == 0, p.stderr
    assert "registered cancer version 2" in p.stdout
    shown = cli(store_uri, "models", "show", "cancer").stdout
    assert "cancer-production@1" in shown
    # What the retraining CronJob records: the training data, then the labelled rows.
    retrain = tmp_path / "retrain.csv"
    p = cli(store_uri, "datasets", "add", "--from-predictions", "cancer", "--version", "1",
            "--with-data", str(DATA / "breast_cancer.csv"), "--name", "cancer-retrain",
            "--output", str(retrain))
    assert p.returncode == 0, p.stderr
    assert "dataset cancer-retrain@1" in p.stdout and "609 rows" in p.stdout  # 569 + 40
    assert retrain.read_text().splitlines()[:570] == \
        (DATA / "breast_cancer.csv").read_text().splitlines()
    p = cli(store_uri, "train", "--dataset", "cancer-retrain", "--target", "target",
            "--register", "cancer", "--num-rounds", "5")
    assert p.returncode == 0 and "registered cancer version 3" in p.stdout, p.stderr
    # Before any feedback (a new deployment), the version is the training data alone.
    p = cli(store_uri, "datasets", "add", "--from-predictions", "cancer", "--until", "1d",
            "--with-data", str(DATA / "breast_cancer.csv"), "--name", "cancer-retrain",
            "--output", str(tmp_path / "none.csv"))
    assert p.returncode == 0 and "dataset cancer-retrain@2" in p.stdout, p.stderr
    assert "569 rows" in p.stdout
    # Without ground truth there is nothing to record.
    p = cli(store_uri, "datasets", "add", "--from-predictions", "cancer", "--since",
            "2000-01-01T00:00:00Z", "--until", "2000-01-02T00:00:00Z")
    assert p.returncode != 0 and "has ground truth" in p.stderr


def metric(server, name):
    text = requests.get(server.url + "/metrics").text
    values = [float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " ")]
    return values[0] if values else None


def test_retention_by_age_and_size_at_start(backend, start_server):
    kind, uri = backend
    server, ids, _ = serve_and_predict(start_server, uri, 30)
    # Five records of two days ago, as a server of two days ago would have written them.
    old_ms = int(time.time() * 1000) - 2 * 86_400_000
    old = [f"{old_ms + i:012x}" + f"{i:020x}" for i in range(5)]
    row = {"model": "cancer", "version": 1, "latency_us": 1, "kind": "binary"}
    if kind == "sqlite":
        with sqlite3.connect(uri[len("sqlite:///"):]) as db:
            for i, pid in enumerate(old):
                db.execute("INSERT INTO predictions VALUES (?, 'cancer', 1, ?, 1, 'binary', 1, ?, ?)",
                           (pid, old_ms + i, np.zeros(30, "<f4").tobytes(),
                            np.zeros(1, "<f4").tobytes()))
            # What inferd's writes keep up to date (docs/store.md).
            db.execute("UPDATE predictions_size SET records = records + 5, bytes = bytes + 5 * 216")
    else:
        import bson
        import datetime
        with pymongo.MongoClient(uri) as client:
            client.get_default_database().predictions.insert_many([
                {"_id": pid, **row, "time": datetime.datetime.fromtimestamp(
                    (old_ms + i) / 1000, datetime.timezone.utc),
                 "inputs": {"shape": [1, 30], "data": bson.Binary(np.zeros(30, "<f4").tobytes())},
                 "outputs": {"shape": [1, 1], "data": bson.Binary(np.zeros(1, "<f4").tobytes())}}
                for i, pid in enumerate(old)])
    assert len(lines(requests.get(server.url + URL, params={"limit": 100}))) == 35
    server.stop()

    # A day's retention: the first pass, at start, deletes the old ones (FerretDB has no TTL).
    server = start_server("--prediction-retention", "1d", repo=False, store=uri)
    assert wait_for(lambda: metric(server, "inferd_prediction_log_expired_total") == 5)
    got = [g["id"] for g in lines(requests.get(server.url + URL, params={"limit": 100}))]
    assert got == ids
    assert metric(server, "inferd_prediction_log_records") == 30
    size = metric(server, "inferd_prediction_log_bytes")
    server.stop()

    # A size bound of a third of that keeps the newest ten or so.
    server = start_server("--prediction-max-bytes", str(int(size / 3)), repo=False, store=uri)
    assert wait_for(lambda: metric(server, "inferd_prediction_log_oversize_deleted_total"))
    got = [g["id"] for g in lines(requests.get(server.url + URL, params={"limit": 100}))]
    assert 5 <= len(got) <= 10 and got == ids[-len(got):]
    assert metric(server, "inferd_prediction_log_bytes") <= size / 3


def test_several_servers_write_one_mongodb_wire_store_completely(ferretdb, start_server, model_repo):
    """Three inferd processes log into one FerretDB at once: every record arrives, once,
    with the rows that were sent."""
    import threading
    uri = ferretdb.uri()
    servers = [start_server(repo=model_repo, store=uri) for _ in range(3)]
    _, rows = read_csv("breast_cancer")
    sent, errors, lock = {}, [], threading.Lock()

    def traffic(server, offset):
        with requests.Session() as s:
            for i in range(150):
                batch = rows[(offset + i) % 500:(offset + i) % 500 + 1 + i % 3]
                body = {"inputs": [{"name": "input__0", "shape": [len(batch), 30],
                                    "datatype": "FP32", "data": batch}]}
                r = s.post(server.url + "/v2/models/breast_cancer/infer", json=body, timeout=30)
                with lock:
                    if r.status_code == 200:
                        sent[r.json()["parameters"]["prediction_id"]] = batch
                    else:
                        errors.append(r.text)

    threads = [threading.Thread(target=traffic, args=(s, 100 * n)) for n, s in enumerate(servers)
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(sent) == 900
    records = Records("mongodb", uri)
    stored = wait_for(lambda: (lambda p: p if len(p) >= 900 else None)(records.predictions()), 60)
    assert stored is not None, "".join(servers[0].log)[-2000:]
    assert set(stored) == set(sent)
    for pid, batch in sent.items():
        np.testing.assert_array_equal(stored[pid]["inputs"], np.float32(batch))
        assert stored[pid]["outputs"].shape == (len(batch), 1)
    # Read back through any one server, page by page: the same 900, in time order.
    seen, cursor = [], None
    while True:
        r = requests.get(servers[1].url + URL, params={"limit": 250, **({"cursor": cursor} if cursor else {})})
        seen += [p["id"] for p in lines(r)]
        cursor = r.headers.get("X-Next-Cursor")
        if not cursor:
            break
    assert seen == sorted(sent)
    for server in servers:
        stats = requests.get(server.url + "/metrics").text
        assert "inferd_prediction_log_dropped_total 0" in stats

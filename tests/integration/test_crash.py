"""Crash consistency: inferd killed with SIGKILL in the middle of load, with the store up and
with it down (while the spool is written), many times (INFERD_CRASH_KILLS, 20 by default).

After each kill and restart: the spool replays, no record is corrupt or stored twice, a torn
spool tail is cut off with a log line, the SQLite store passes its integrity check and the
registry (whose alias is being moved during the kills) is intact. What a SIGKILL loses is
what the log held in memory, at most --log-queue-size records: every record the log had
counted as written or spooled before the kill is in the store afterwards. SIGTERM loses
nothing, with the store up or down. docs/reliability.md states these guarantees.

No step waits a fixed time for the server: each waits for a count, with generous timeouts,
so that a loaded machine makes the test slower, not red."""
import os
import re
import signal
import sqlite3
import struct
import threading
import time

import pytest
import requests
from pymongo import MongoClient

from conftest import BINARY, DATA, InferdServer, read_csv, wait_for
import subprocess

KILLS = int(os.environ.get("INFERD_CRASH_KILLS", "20"))
QUEUE = 2000  # --log-queue-size: the most records one SIGKILL may lose
THREADS = 4   # load threads, so at most this many requests in flight at a kill
_, ROWS = read_csv("breast_cancer")


def float32(values):
    return struct.pack(f"<{len(values)}f", *values)


class Load:
    """V2 inference requests (a different row each time) from THREADS threads until stopped.
    Keeps, per answered prediction id, the row sent and the output received."""

    def __init__(self, url, model):
        self.url, self.model = url, model
        self.answered = {}  # id -> (row index, output)
        self.errors = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(THREADS)]

    def run(self, start):
        i = start
        with requests.Session() as session:
            while not self.stop.is_set():
                row = i % len(ROWS)
                i += THREADS
                body = {"inputs": [{"name": "input__0", "shape": [1, 30], "datatype": "FP32",
                                    "data": ROWS[row]}]}
                try:
                    r = session.post(f"{self.url}/v2/models/{self.model}/infer", json=body,
                                     timeout=30)
                except requests.RequestException:
                    return  # the server is gone
                if r.status_code != 200:
                    with self.lock:
                        self.errors.append((r.status_code, r.text))
                    continue
                doc = r.json()
                with self.lock:
                    self.answered[doc["parameters"]["prediction_id"]] = (
                        row, doc["outputs"][0]["data"][0])

    def count(self):
        with self.lock:
            return len(self.answered)

    def ids(self):
        with self.lock:
            return set(self.answered)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(60)


def metric(server, name):
    text = requests.get(server.url + "/metrics", timeout=10).text
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def logged(server):
    """Records the prediction log has written to the store or to the spool."""
    return (metric(server, "inferd_prediction_log_written_total") +
            metric(server, "inferd_prediction_log_spooled_total"))


def process_of(prediction_id):
    """The 48 bits each inferd process draws once (monitor::NewPredictionId)."""
    return prediction_id[20:]


def cli(store, *args):
    p = subprocess.run([str(BINARY), "--store", store, *args], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def register_two_versions(store):
    model = str(DATA / "models" / "breast_cancer" / "1" / "model.json")
    cli(store, "models", "register", "cancer", "--file", model, "--alias", "production")
    cli(store, "models", "register", "cancer", "--file", model)


def serve(store, tmp_path, *extra):
    """inferd serving the registry's `cancer` model from `store`."""
    server = InferdServer(["--host", "127.0.0.1", "--port", "0", "--store", store,
                           "--spool-dir", str(tmp_path / "spool"), "--threads", "2",
                           "--log-queue-size", str(QUEUE), *extra])
    server.wait_ready(timeout=60)
    assert wait_for(lambda: requests.get(server.url + "/v2/models/cancer/ready",
                                         timeout=10).status_code == 200, timeout=60)
    return server


class AliasFlipper:
    """Moves the `production` alias between versions 1 and 2 through the MLflow API, so that
    kills land in the middle of registry writes too."""

    def __init__(self, url):
        self.url, self.stop, self.flips = url, threading.Event(), 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        version = 2
        while not self.stop.is_set():
            try:
                r = requests.post(self.url + "/api/2.0/mlflow/registered-models/alias",
                                  json={"name": "cancer", "alias": "production",
                                        "version": str(version)}, timeout=30)
            except requests.RequestException:
                return
            if r.status_code == 200:
                self.flips += 1
                version = 3 - version
            time.sleep(0.05)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(60)


def kill_under_load(server, load):
    """Waits until the log has counted as written or spooled every prediction answered so
    far, lets more be answered, and kills the server with SIGKILL in the middle of that.
    Returns the ids that were counted before the kill (they must survive it)."""
    assert wait_for(lambda: load.count() >= 50, timeout=60), load.errors[:3] or server.log[-20:]
    checkpoint = load.ids()
    # A record is queued before its answer is sent: once the log has counted the answered
    # ones plus the requests that may have been in flight, all the answered ones are safe.
    assert wait_for(lambda: logged(server) >= len(checkpoint) + THREADS, timeout=60), (
        f"the prediction log did not keep up: {logged(server)} < {len(checkpoint)}; "
        f"dropped {metric(server, 'inferd_prediction_log_dropped_total')}")
    more = load.count()
    assert wait_for(lambda: load.count() >= more + 50, timeout=60)
    server.proc.kill()
    server.proc.wait(30)
    return checkpoint


def check_records(answered, safe, stored):
    """`stored`: {id: (inputs bytes, outputs bytes)} of the store. Every id counted before a
    kill is stored, every stored record is exactly what was sent and answered, each kill
    lost at most QUEUE records, and no record appears that no request made."""
    assert not safe - set(stored), f"{len(safe - set(stored))} logged records lost"
    by_process = {}
    for prediction_id in answered:
        by_process.setdefault(process_of(prediction_id), set()).add(prediction_id)
    stored_by_process = {}
    for prediction_id in stored:
        stored_by_process.setdefault(process_of(prediction_id), set()).add(prediction_id)
    lost = []
    for process, ids in by_process.items():
        kept = stored_by_process.get(process, set())
        lost.append(len(ids - kept))
        assert len(ids - kept) <= QUEUE
        # Records of requests whose answer the kill cut off: at most one per connection.
        assert len(kept - ids) <= THREADS, f"{len(kept - ids)} records nobody was answered"
    for prediction_id, (row, output) in answered.items():
        if prediction_id in stored:
            inputs, outputs = stored[prediction_id]
            assert inputs == float32(ROWS[row]), f"record {prediction_id}: inputs differ"
            assert outputs == float32([output]), f"record {prediction_id}: outputs differ"
    print(f"{len(answered)} answered, {len(stored)} stored, lost per kill: {sorted(lost)}")


def check_registry(store):
    shown = cli(store, "models", "show", "cancer")
    assert re.search(r"\b1\b", shown) and re.search(r"\b2\b", shown), shown
    assert "production" in shown, shown


def test_sigkill_with_the_store_up(tmp_path):
    db = tmp_path / "store" / "inferd.db"
    store = f"sqlite:///{db}"
    register_two_versions(store)
    answered, safe, flips = {}, set(), 0
    for _ in range(KILLS):
        server = serve(store, tmp_path)
        with Load(server.url, "cancer") as load, AliasFlipper(server.url) as flipper:
            safe |= kill_under_load(server, load)
        assert load.errors == []
        answered.update(load.answered)
        flips += flipper.flips
    assert flips > 0
    server = serve(store, tmp_path)
    assert server.stop() == 0
    con = sqlite3.connect(db)
    assert con.execute("pragma integrity_check").fetchall() == [("ok",)]
    stored = {row[0]: (row[1], row[2])
              for row in con.execute("select id, inputs, outputs from predictions")}
    (count,), = con.execute("select count(*) from predictions")
    (size,), = con.execute("select records from predictions_size")
    con.close()
    assert count == len(stored) == size, "each record stored and counted once"
    check_records(answered, safe, stored)
    check_registry(store)


def mongo_records(uri, database):
    collection = MongoClient(uri, serverSelectionTimeoutMS=10000)[database]["predictions"]
    return {d["_id"]: (bytes(d["inputs"]["data"]), bytes(d["outputs"]["data"]))
            for d in collection.find({}, {"inputs.data": 1, "outputs.data": 1})}


def test_sigkill_while_spooling(tmp_path, ferretdb):
    """The store goes down under load, so records go to the spool, and the server is killed
    while it writes the spool. Every other restart finds a torn tail besides whatever the
    kill left: half a record appended, as a crash in the middle of an append leaves it."""
    uri = ferretdb.uri("crash") + "?serverSelectionTimeoutMS=2000"
    register_two_versions(uri)
    spool = tmp_path / "spool" / "predictions.spool"
    answered, safe, torn, cut = {}, set(), 0, 0
    for i in range(max(2, KILLS // 2)):
        server = serve(uri, tmp_path)
        if i > 0:
            # The spool the last kill left, a torn tail included, is replayed at start-up.
            assert wait_for(lambda: metric(server, "inferd_prediction_log_spool_bytes") == 0,
                            timeout=60), server.log[-20:]
        with Load(server.url, "cancer") as load:
            assert wait_for(lambda: load.count() >= 20, timeout=60), server.log[-20:]
            ferretdb.stop()  # the store goes away mid-load: records go to the spool
            assert wait_for(lambda: metric(server, "inferd_prediction_log_spooled_total") > 0,
                            timeout=60), server.log[-20:]
            safe |= kill_under_load(server, load)
        cut += sum("skipped a torn spool tail" in line for line in server.log)
        assert load.errors == []
        answered.update(load.answered)
        assert spool.stat().st_size > 0, "the killed server left a spool"
        if i % 2 == 0:
            with open(spool, "ab") as f:  # length 64, a checksum, then 4 of the 64 bytes
                f.write(b"\x40\x00\x00\x00\x05\x00\x00\x00torn")
            torn += 1
        ferretdb.start()
    server = serve(uri, tmp_path)
    assert wait_for(lambda: metric(server, "inferd_prediction_log_spool_bytes") == 0, timeout=60)
    assert server.stop() == 0
    cut += sum("skipped a torn spool tail" in line for line in server.log)
    assert cut >= torn, "each torn tail was cut off with a log line"
    check_records(answered, safe, mongo_records(uri, "crash"))
    check_registry(uri)


@pytest.mark.parametrize("store_down", [False, True], ids=["store-up", "store-down"])
def test_sigterm_loses_nothing(tmp_path, ferretdb, store_down):
    uri = ferretdb.uri("term") + "?serverSelectionTimeoutMS=2000"
    register_two_versions(uri)
    server = serve(uri, tmp_path, "--shutdown-grace-ms", "3000")
    with Load(server.url, "cancer") as load:
        assert wait_for(lambda: load.count() >= 50, timeout=60)
        if store_down:
            ferretdb.stop()
            assert wait_for(lambda: metric(server, "inferd_prediction_log_spooled_total") > 0,
                            timeout=60), server.log[-20:]
        count = load.count()
        assert wait_for(lambda: load.count() >= count + 50, timeout=60)
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(60) == 0
    assert load.errors == [] or all(code == 503 for code, _ in load.errors)
    if store_down:
        assert (tmp_path / "spool" / "predictions.spool").stat().st_size > 0
        ferretdb.start()
        server = serve(uri, tmp_path)
        assert wait_for(lambda: metric(server, "inferd_prediction_log_spool_bytes") == 0,
                        timeout=60)
        assert server.stop() == 0
    stored = mongo_records(uri, "term")
    assert set(load.answered) <= set(stored), f"{len(set(load.answered) - set(stored))} lost"

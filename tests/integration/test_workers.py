"""Work that waits runs on worker threads, never on the I/O thread that serves inference.

The store is stalled for real: another connection holds SQLite's write lock, so a store
write waits out SQLite's busy timeout (5 s) on a worker while inference goes on."""
import json
import sqlite3
import threading
import time

import requests

from conftest import read_csv

FEATURES, ROWS = read_csv("breast_cancer")


def infer(server):
    body = {"inputs": [{"name": "input__0", "shape": [1, 30], "datatype": "FP32",
                        "data": ROWS[0]}]}
    return requests.post(server.url + "/v2/models/breast_cancer/infer", json=body, timeout=10)


def feedback(server, i):
    return requests.post(server.url + "/v1/feedback",
                         json={"prediction_id": f"stalled-{i}", "ground_truth": 1}, timeout=30)


class StalledStore:
    """Holds the SQLite store's write lock while in the `with` block."""

    def __init__(self, tmp_path):
        self.db = sqlite3.connect(tmp_path / "store" / "inferd.db", timeout=1,
                                  isolation_level=None)

    def __enter__(self):
        self.db.execute("BEGIN EXCLUSIVE")
        return self

    def __exit__(self, *exc):
        self.db.execute("ROLLBACK")
        self.db.close()


class InBackground:
    def __init__(self, fn):
        self.result = None
        self.thread = threading.Thread(target=lambda: setattr(self, "result", fn()))
        self.thread.start()

    def done(self):
        return not self.thread.is_alive()

    def wait(self):
        self.thread.join(30)
        return self.result


def test_inference_is_answered_while_a_store_write_waits_on_the_only_io_thread(
        start_server, tmp_path):
    server = start_server("--threads", "1", "--worker-threads", "1")
    with StalledStore(tmp_path):
        write = InBackground(lambda: feedback(server, 1))
        time.sleep(0.3)  # the write has reached the store and waits for its lock
        for _ in range(20):
            assert infer(server).status_code == 200
        assert not write.done(), "the stalled write should still be waiting"
    assert write.wait().status_code == 200


def test_a_full_worker_queue_answers_503_with_retry_after(start_server, tmp_path):
    server = start_server("--threads", "1", "--worker-threads", "1", "--worker-queue", "1")
    with StalledStore(tmp_path):
        running = InBackground(lambda: feedback(server, 1))
        time.sleep(0.3)  # taken by the one worker, which waits for the lock
        queued = InBackground(lambda: feedback(server, 2))
        time.sleep(0.3)  # in the queue
        refused = feedback(server, 3)
        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"] == "1"
        assert "--worker-queue 1" in refused.json()["error"]
        assert infer(server).status_code == 200  # inference needs no worker
    assert running.wait().status_code == 200
    assert queued.wait().status_code == 200
    metrics = requests.get(server.url + "/metrics", timeout=10).text
    assert 'inferd_http_requests_total{route="/v1/feedback",code="503"} 1' in metrics


def test_a_dynamically_batched_model_is_served_from_the_workers(start_server, model_repo):
    config_file = model_repo / "breast_cancer" / "config.json"
    config = json.loads(config_file.read_text())
    config["dynamic_batching"] = {"max_queue_delay_microseconds": 2000}
    config_file.write_text(json.dumps(config))
    server = start_server("--threads", "1", "--worker-threads", "4")
    results = []
    threads = [threading.Thread(target=lambda: results.append(infer(server).status_code))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [200] * 8
    metrics = requests.get(server.url + "/metrics", timeout=10).text
    executions = [line for line in metrics.splitlines()
                  if line.startswith("inferd_inference_executions_total{")]
    # Requests waited in one batch together: fewer model executions than requests.
    assert executions and 1 <= float(executions[0].split()[-1]) < 8, executions

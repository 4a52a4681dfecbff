"""Sharded datasets and distributed training with the real binary: N processes on loopback.

`inferd datasets add --shard I/N` in N processes, merged by the last; `inferd train --workers N`
with worker 0 hosting the tracker (or `inferd train --tracker`), checked against one process
over the same rows; workers that die, stall or never arrive stop the job with a message naming
them, within the timeouts given."""
import json
import re
import signal
import sqlite3
import subprocess
import threading
import time

import numpy as np
import pytest

from conftest import BINARY

TRACKER = re.compile(r"tracker listening on [^ ]+:(\d+)")


class Proc:
    """An inferd command whose output is collected as it runs."""

    def __init__(self, store_uri, *args):
        self.lines = []
        self.proc = subprocess.Popen([str(BINARY), "--store", store_uri, *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self):
        return "".join(self.lines)

    def wait_for(self, pattern, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.output)
            if m:
                return m
            if self.proc.poll() is not None:
                self._reader.join(1)
                m = re.search(pattern, self.output)
                if m:
                    return m
                break
            time.sleep(0.02)
        raise AssertionError(f"no {pattern!r} in:\n{self.output}")

    def finish(self, timeout=60):
        rc = self.proc.wait(timeout)
        self._reader.join(5)
        return rc


def write_parts(folder, parts, rows, continuous, seed=3):
    """A binary task in `parts` CSV files; features on a 0.25 grid (fewer distinct values than
    XGBoost's 256 bins, so the quantile sketch is exact) or continuous."""
    rng = np.random.default_rng(seed)
    folder.mkdir()
    for p in range(parts):
        x = rng.normal(size=(rows + 97 * p, 4)) * 5
        if not continuous:
            x = np.round(x * 4) / 4
        y = (x[:, 0] + 0.5 * x[:, 1] * np.sign(x[:, 2]) + rng.normal(size=len(x)) * 3 > 0)
        lines = ["a,b,c,d,y"] + [",".join(f"{v:.6g}" for v in r) + f",{int(t)}"
                                 for r, t in zip(x, y)]
        (folder / f"part-{p}.csv").write_text("\n".join(lines) + "\n")


def run(store_uri, *args):
    return subprocess.run([str(BINARY), "--store", store_uri, *args], capture_output=True,
                          text=True, timeout=120)


def add_in_shards(store_uri, data, name, shards, columnar):
    procs = [Proc(store_uri, "datasets", "add", str(data), "--name", name, "--shard",
                  f"{i}/{shards}", "--run", "test-run", "--columnar-dir", str(columnar))
             for i in range(shards)]
    assert [p.finish() for p in procs] == [0] * shards, "\n".join(p.output for p in procs)
    return procs


def train_job(store_uri, workers, *args, external=False):
    """Runs a training job of `workers` processes; returns (worker processes, tracker or None)."""
    common = ["train", *args, "--workers", str(workers)]
    tracker = None
    if external:
        tracker = Proc(store_uri, "train", "--tracker", "--workers", str(workers),
                       "--tracker-address", "127.0.0.1:0")
        port = tracker.wait_for(TRACKER).group(1)
        common += ["--external-tracker"]
        first = []
    else:
        first = [Proc(store_uri, *common, "--worker-index", "0",
                      "--tracker-address", "127.0.0.1:0")]
        port = first[0].wait_for(TRACKER).group(1)
    rest = [Proc(store_uri, *common, "--worker-index", str(i),
                 "--tracker-address", f"127.0.0.1:{port}")
            for i in range(0 if external else 1, workers)]
    return first + rest, tracker


def stored(store_uri, sql, *params):
    db = sqlite3.connect(store_uri.removeprefix("sqlite:///"))
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def model_json(store_uri, name):
    """The model file of version 1 of `name`: in its logged model's folder (where
    storage_location points; mlflow-artifacts:/<experiment>/models/<model_id>/artifacts)."""
    [(location,)] = stored(store_uri, "select json_extract(doc, '$.storage_location') "
                           "from model_versions where id = ?", f"{name}/0000000001")
    [(blob,)] = stored(store_uri, "select data from blobs where id = ?",
                       "artifacts/" + location.removeprefix("mlflow-artifacts:/") + "/model.json")
    return json.loads(blob)


def metrics(output):
    return {k: float(v) for k, v in re.findall(r"holdout (\w+) ([\d.]+)", output)}


def test_shards_merge_into_the_profile_one_process_computes(store_uri, tmp_path):
    write_parts(tmp_path / "data", 3, 2000, continuous=True)
    procs = add_in_shards(store_uri, tmp_path / "data", "big", 3, tmp_path / "columnar")
    merged = [p for p in procs if "dataset big@1" in p.output]
    assert len(merged) >= 1, "the last shard merges"
    assert all("rows, columnar copy written" in p.output for p in procs)
    assert "3 files, 3 shards" in merged[0].output
    assert len(list((tmp_path / "columnar").glob("*.icol"))) == 3

    # One process, one file with the same rows in the same order.
    parts = sorted((tmp_path / "data").glob("*.csv"))
    body = [line for p in parts for line in p.read_text().splitlines()[1:]]
    (tmp_path / "all.csv").write_text("\n".join(["a,b,c,d,y", *body]) + "\n")
    assert run(store_uri, "datasets", "add", str(tmp_path / "all.csv"), "--name",
               "one").returncode == 0
    docs = dict(stored(store_uri, "select json_extract(doc, '$.name'), doc from datasets "
                                  "where id in ('big@0000000001', 'one@0000000001')"))
    big, one = json.loads(docs["big"]), json.loads(docs["one"])
    assert big["rows"] == one["rows"] == 6291
    assert big["columns"] == one["columns"]  # every count, moment, percentile and histogram
    assert [f["relpath"] for f in big["files"]] == ["part-0.csv", "part-1.csv", "part-2.csv"]

    # `datasets merge` again: the same version.
    again = run(store_uri, "datasets", "merge", "big", "--run", "test-run", "--shards", "3")
    assert again.returncode == 0 and "dataset big@1" in again.stdout, again.stderr
    missing = run(store_uri, "datasets", "merge", "big", "--run", "test-run", "--shards", "4")
    assert missing.returncode == 1 and "shard(s) 0, 1, 2, 3 of 4 not recorded yet" in missing.stderr


def test_three_workers_train_the_model_one_process_trains(store_uri, tmp_path):
    write_parts(tmp_path / "data", 3, 1500, continuous=False)
    add_in_shards(store_uri, tmp_path / "data", "grid", 3, tmp_path / "columnar")
    args = ["--dataset", "grid", "--target", "y", "--num-rounds", "20", "--max-depth", "4"]
    alone = run(store_uri, "train", *args, "--register", "alone", "--workers", "1")
    assert alone.returncode == 0, alone.stderr
    workers, _ = train_job(store_uri, 3, *args, "--register", "three")
    assert [w.finish() for w in workers] == [0, 0, 0], "\n".join(w.output for w in workers)
    out = workers[0].output
    assert "tracker: all 3 workers linked: training" in out and "registered three version 1" in out
    assert re.search(r"worker 2/3: round 20/20 .*valid-logloss", workers[2].output)
    # Same rows, same holdout, same cut points: the same trees, bit for bit.
    assert model_json(store_uri, "three") == model_json(store_uri, "alone")
    assert metrics(out) == metrics(alone.stdout) and metrics(out)["auc"] > 0.8
    shown = run(store_uri, "models", "show", "three").stdout
    for param in ("workers=3", "dataset_files=3", "dataset_shards=3", "tree_method=hist"):
        assert f"param {param}" in shown, shown
    assert "dataset grid@1" in shown


def test_continuous_features_match_within_the_sketch_tolerance(store_uri, tmp_path):
    # Past 256 distinct values a feature's bins come from a quantile sketch, which three
    # workers merge from theirs: cut points differ slightly, and so may the trees. The
    # holdout (the same rows) must score alike: AUC within 0.01, logloss within 5%.
    write_parts(tmp_path / "data", 3, 1500, continuous=True)
    assert run(store_uri, "datasets", "add", str(tmp_path / "data"), "--name",
               "cont").returncode == 0
    args = ["--dataset", "cont", "--target", "y", "--num-rounds", "20", "--max-depth", "4"]
    alone = run(store_uri, "train", *args, "--register", "alone", "--workers", "1")
    workers, tracker = train_job(store_uri, 3, *args, "--register", "three", external=True)
    assert [w.finish() for w in workers] == [0, 0, 0], "\n".join(w.output for w in workers)
    assert tracker.finish() == 0 and "job finished: all 3 workers done" in tracker.output
    a, b = metrics(alone.stdout), metrics(workers[0].output)
    assert abs(a["auc"] - b["auc"]) < 0.01 and abs(a["logloss"] / b["logloss"] - 1) < 0.05, (a, b)


def test_a_worker_that_dies_stops_the_job_and_is_named(store_uri, tmp_path):
    write_parts(tmp_path / "data", 3, 1500, continuous=True)
    assert run(store_uri, "datasets", "add", str(tmp_path / "data"), "--name",
               "d").returncode == 0
    workers, _ = train_job(store_uri, 3, "--dataset", "d", "--target", "y", "--register", "m",
                           "--num-rounds", "100000", "--max-depth", "8")
    workers[2].wait_for(r"round 5/")
    workers[2].proc.send_signal(signal.SIGKILL)
    started = time.monotonic()
    assert [w.finish(timeout=30) for w in workers[:2]] == [2, 2]
    assert time.monotonic() - started < 10
    for w in workers[:2]:
        assert re.search(r"training stopped: worker 2 \(127\.0\.0\.1\) died at round \d+", w.output)
    assert "tracker: job stopped: worker 2" in workers[0].output


def test_a_stalled_worker_stops_the_job_after_the_heartbeat_timeout(store_uri, tmp_path):
    write_parts(tmp_path / "data", 2, 1500, continuous=True)
    assert run(store_uri, "datasets", "add", str(tmp_path / "data"), "--name",
               "d").returncode == 0
    workers, _ = train_job(store_uri, 2, "--dataset", "d", "--target", "y", "--register", "m",
                           "--num-rounds", "100000", "--max-depth", "8",
                           "--heartbeat-timeout", "2")
    workers[1].wait_for(r"round 5/")
    workers[1].proc.send_signal(signal.SIGSTOP)
    try:
        assert workers[0].finish(timeout=20) == 2
        assert re.search(r"worker 1 \(127\.0\.0\.1\) sent nothing for 2 s at round \d+",
                         workers[0].output)
    finally:
        workers[1].proc.kill()
        workers[1].finish()


def test_a_worker_that_never_arrives_is_named_within_the_timeout(store_uri, tmp_path):
    write_parts(tmp_path / "data", 3, 500, continuous=True)
    assert run(store_uri, "datasets", "add", str(tmp_path / "data"), "--name",
               "d").returncode == 0
    tracker = Proc(store_uri, "train", "--tracker", "--workers", "3", "--tracker-address",
                   "127.0.0.1:0", "--rendezvous-timeout", "2")
    port = tracker.wait_for(TRACKER).group(1)
    started = time.monotonic()
    workers = [Proc(store_uri, "train", "--dataset", "d", "--target", "y", "--register", "m",
                    "--workers", "3", "--worker-index", str(i), "--external-tracker",
                    "--tracker-address", f"127.0.0.1:{port}") for i in (0, 2)]
    assert tracker.finish(timeout=20) == 1
    assert [w.finish(timeout=20) for w in workers] == [2, 2]
    assert time.monotonic() - started < 10
    message = "worker 1 of 3 never connected to the tracker (waited 2 s)"
    assert message in tracker.output
    assert all(f"training stopped: {message}" in w.output for w in workers)


def test_misconfigured_workers_are_refused(store_uri, tmp_path):
    write_parts(tmp_path / "data", 2, 300, continuous=True)
    assert run(store_uri, "datasets", "add", str(tmp_path / "data"), "--name",
               "d").returncode == 0
    many = run(store_uri, "train", "--dataset", "d", "--target", "y", "--register", "m",
               "--workers", "3", "--worker-index", "1", "--tracker-address", "127.0.0.1:1")
    assert many.returncode == 1
    assert "dataset d has 2 data file(s); 3 workers would leave some without data" in many.stderr
    # A worker started for another job size: the tracker names it, the job stops.
    first = Proc(store_uri, "train", "--dataset", "d", "--target", "y", "--register", "m",
                 "--workers", "2", "--worker-index", "0", "--tracker-address", "127.0.0.1:0")
    port = first.wait_for(TRACKER).group(1)
    wrong = Proc(store_uri, "train", "--dataset", "d", "--target", "y", "--register", "m",
                 "--workers", "3", "--worker-index", "1", "--tracker-address",
                 f"127.0.0.1:{port}")
    assert first.finish() == 2 and wrong.finish() in (1, 2)
    assert "worker 1 (127.0.0.1) was started for 3 workers, the tracker for 2" in first.output
    # A worker that fails on its data stops the others with its message.
    bad = Proc(store_uri, "train", "--dataset", "d", "--target", "y", "--register", "m",
               "--workers", "2", "--worker-index", "0", "--tracker-address", "127.0.0.1:0")
    port = bad.wait_for(TRACKER).group(1)
    other = Proc(store_uri, "train", "--dataset", "d", "--target", "nope", "--register", "m",
                 "--workers", "2", "--worker-index", "1", "--tracker-address",
                 f"127.0.0.1:{port}")
    assert other.finish() == 1 and bad.finish() == 2
    assert "worker 1 (127.0.0.1) failed: target column 'nope' is not in the data" in bad.output

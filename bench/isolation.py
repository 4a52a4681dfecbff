#!/usr/bin/env python3
"""Isolation benchmark: inference latency on some connections while admin work runs on others.

inferd serves its registry (SQLite) with --threads 2. wrk drives a paced 1-row V2 load
(8 connections, each pausing 2 ms between requests: a load the server carries easily, so
latency is the server's own) through one phase after another:

  idle             nothing else runs
  artifact upload  60 MB PUTs to the mlflow-artifacts route, back to back
  model reload     the `production` alias of a 500-tree model moves between two versions,
                   back to back; each move reloads the model (read from the store, built)
  stalled store    another process holds SQLite's write lock for the whole phase while
                   /v1/feedback writes keep arriving (each waits out the busy timeout)

and prints, per phase, requests/s, p50 / p99 / max latency, errors, the admin operations
done, and p99 and max against the idle phase. Exits 1 if any inference failed.

    bench/isolation.py [--duration 10] [--binary build/inferd]
"""
import argparse
import http.client
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import make_body, to_ms, wait_ready  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "breast_cancer.csv"


def run_wrk(url, body_file, duration):
    env = {**os.environ, "BODY_FILE": str(body_file), "PACE_MS": "2"}
    out = subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{duration}s", "--latency", "-s",
         str(ROOT / "bench" / "paced.lua"), url],
        env=env, capture_output=True, text=True, check=True).stdout
    latency = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        "p99": to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
        "max": to_ms(latency.group(3)),
        "errors": (int(non2xx.group(1)) if non2xx else 0) +
                  (sum(map(int, sock.groups())) if sock else 0),
    }


def request(port, method, path, body=b"", timeout=120):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body,
                     headers={"Content-Type": "application/json"} if body else {})
        reply = conn.getresponse()
        data = reply.read()
        return reply.status, data
    finally:
        conn.close()


def listening_port(log_path, server, timeout=60):
    """The REST port the server logs once it listens (it was started with --port 0)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"listening on [^ ]*:(\d+)", log_path.read_text())
        if found:
            return int(found.group(1))
        if server.poll() is not None:
            sys.exit(f"inferd exited: {log_path.read_text()}")
        time.sleep(0.1)
    sys.exit("inferd did not start listening")


class Background:
    """Runs `step` back to back on a thread until stopped; counts the steps that succeeded."""

    def __init__(self, step):
        self.step, self.done, self.failed = step, 0, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self):
        i = 0
        while not self.stop.is_set():
            i += 1
            if self.step(i):
                self.done += 1
            else:
                self.failed += 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--binary", default=str(ROOT / "build" / "inferd"),
                        help="the inferd to measure (default: this tree's build)")
    args = parser.parse_args()
    binary = args.binary
    tmp = Path(tempfile.mkdtemp(prefix="inferd-isolation-"))
    db = tmp / "inferd.db"
    store = f"sqlite:///{db}"

    def cli(*argv):
        subprocess.run([binary, "--store", store, *argv], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    cli("train", "--data", str(DATA), "--target", "target", "--register", "cancer",
        "--alias", "production")
    for _ in range(2):  # two versions of a 500-tree model to move the alias between
        cli("train", "--data", str(DATA), "--target", "target", "--register", "big",
            "--num-rounds", "500", "--max-depth", "8")
    cli("models", "alias", "big", "production", "1")
    body = make_body(1, tmp / "1.json")
    upload = os.urandom(60 << 20)

    # A build from before gRPC has no --grpc-port.
    help_text = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True).stdout
    extra = ["--grpc-port", "0"] if "--grpc-port" in help_text else []
    log = open(tmp / "server.log", "w")
    server = subprocess.Popen(
        [binary, "--store", store, "serve", "--host", "127.0.0.1", "--port", "0", *extra,
         "--threads", "2", "--spool-dir", str(tmp / "spool"),
         "--poll-interval-ms", "0"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    results = {}
    try:
        port = listening_port(tmp / "server.log", server)
        url = f"http://127.0.0.1:{port}"
        infer = url + "/v2/models/cancer/infer"
        wait_ready(url)
        run_wrk(infer, body, 2)  # warm-up

        def upload_step(i):
            status, _ = request(port, "PUT",
                                f"/api/2.0/mlflow-artifacts/artifacts/bench/blob-{i % 4}", upload)
            return status == 200

        def reload_step(i):
            alias = json.dumps({"name": "big", "alias": "production",
                                "version": str(1 + i % 2)}).encode()
            status, _ = request(port, "POST", "/api/2.0/mlflow/registered-models/alias",
                                alias)
            return status == 200

        def feedback_step(i):
            status, _ = request(port, "POST", "/v1/feedback",
                                json.dumps({"prediction_id": f"bench-{i}",
                                            "ground_truth": 1}).encode())
            return status == 200

        phases = [("idle", None), ("artifact upload", upload_step), ("model reload", reload_step),
                  ("stalled store", feedback_step)]
        for name, step in phases:
            lock = None
            if name == "stalled store":
                lock = sqlite3.connect(db, timeout=1, isolation_level=None)
                lock.execute("BEGIN EXCLUSIVE")
            try:
                if step is None:
                    results[name] = (run_wrk(infer, body, args.duration), 0, 0)
                else:
                    with Background(step) as work:
                        wrk = run_wrk(infer, body, args.duration)
                    results[name] = (wrk, work.done, work.failed)
            finally:
                if lock is not None:
                    lock.execute("ROLLBACK")
                    lock.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(60)
        log.close()

    idle = results["idle"][0]
    print(f"wrk -t2 -c8 paced (2 ms between requests per connection), -d{args.duration}s, "
          f"1-row V2 JSON to the demo model; inferd --threads 2 on {os.cpu_count()} cores, "
          f"SQLite store, prediction log on\n")
    print("| phase | requests/s | p50 ms | p99 ms | max ms | errors | admin ops ok / failed "
          "| p99 / idle | max / idle |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, (r, done, failed) in results.items():
        print(f"| {name} | {r['rps']:.0f} | {r['p50']:.3f} | {r['p99']:.3f} | {r['max']:.2f} "
              f"| {r['errors']} | {done} / {failed} | {r['p99'] / idle['p99']:.2f} "
              f"| {r['max'] / idle['max']:.2f} |")
    failed = any(r["errors"] for r, _, _ in results.values())
    if failed:
        print(f"inference errors: the server's log is in {tmp / 'server.log'}")
    else:
        shutil.rmtree(tmp)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

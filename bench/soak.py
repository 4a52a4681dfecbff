#!/usr/bin/env python3
"""Soak: inferd under mixed traffic for ten minutes (or --minutes), with a store outage.

inferd serves its registry from a MongoDB-wire store (the FerretDB test server) with
--threads 2. For the whole run, side by side:

  wrk (bench/soak.lua, paced)   1-row and 64-row V2 JSON, 1-row V2 binary tensors, 1-row V1,
                                one minute-long run per kind per minute
  feedback                      predictions followed by /v1/feedback with their ground truth
  registry                      the `production` alias swapped between two versions every 3 s
                                (each swap reloads the served model)
  artifacts                     a 2 MB artifact uploaded every 5 s
  outage                        FerretDB stopped for 30 s in the middle, then started again

and then SIGTERM. It prints, per minute: requests/s and p50 / p99 latency of each kind, 503s
and errors; the server's resident memory, open files and threads; and at the end checks:

  - no errors but documented 503s: load shedding on inference, and during the outage (from
    the store's stop to 10 s after its restart) the registry's, artifact and feedback
    routes' 503s, since the store is down;
  - every prediction the server answered is in the store (the spool took the outage), and
    at least every one the clients saw answered;
  - no prediction record dropped; the server exits 0;
  - resident memory in the last minute within 5% of the second minute's; no growth of
    open files or threads.

Exits 1 if a check fails.

    bench/soak.py [--minutes 10] [--binary build/inferd]

--minutes 1 checks the script in two minutes; the memory check needs 3 minutes or more.
The resident set, open files and threads every 5 s go to samples.csv in the log folder.
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from conftest import FerretDb  # noqa: E402
from load import make_binary_body, make_body, to_ms, wait_ready  # noqa: E402

DATA = ROOT / "tests" / "data" / "breast_cancer.csv"
OUTAGE_SECONDS = 30


def call(url, method="GET", body=None, headers=None, timeout=30):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError:
        return 0, b""


class Tally:
    """Outcomes of the Python-driven traffic: (kind, HTTP status, during the outage) -> count.
    The outage window runs from the store's stop to 10 s after its restart."""

    def __init__(self, outage):
        self.lock = threading.Lock()
        self.counts = {}
        self.outage = outage

    def add(self, kind, status):
        with self.lock:
            key = (kind, status, self.outage.is_set())
            self.counts[key] = self.counts.get(key, 0) + 1

    def unexpected(self):
        """Outcomes that are errors: anything but 200, except 503 during the outage (the
        registry, artifact and feedback routes need the store) and 503 from load shedding
        for inference."""
        return {k: n for k, n in self.counts.items()
                if k[1] != 200 and not (k[1] == 503 and (k[2] or k[0] == "feedback-infer"))}


class Soak:
    def __init__(self, args, tmp):
        self.args, self.tmp = args, tmp
        self.stop = threading.Event()
        self.outage = threading.Event()  # set while the store is down (and 10 s after)
        self.tally = Tally(self.outage)
        self.samples = []  # (seconds, rss kB, fds, threads)
        self.minutes = []  # per minute: {kind: wrk result}
        self.ferret = FerretDb(tmp / "ferretdb")
        self.store = None
        self.server = None
        self.url = None

    def cli(self, *argv):
        subprocess.run([self.args.binary, "--store", self.store, *argv], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self):
        self.ferret.start()
        self.store = self.ferret.uri("soak")
        for _ in range(2):  # two versions of the demo model to swap between
            self.cli("train", "--data", str(DATA), "--target", "target", "--register", "cancer")
        self.cli("models", "alias", "cancer", "production", "1")
        log = open(self.tmp / "serve.log", "w")
        self.server = subprocess.Popen(
            [self.args.binary, "--store", self.store, "serve", "--host", "127.0.0.1",
             "--port", "0", "--threads", "2", "--grpc-port", "-1", "--poll-interval-ms", "1000",
             "--spool-dir", str(self.tmp / "spool"), "--access-log-sample-rate", "0"],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.url is None:
            m = re.search(r"listening on [\d.]+:(\d+)", (self.tmp / "serve.log").read_text())
            if m:
                self.url = f"http://127.0.0.1:{m.group(1)}"
            time.sleep(0.1)
        wait_ready(self.url)

    # ---- traffic driven from Python ----
    def feedback_loop(self):
        body = make_body(1, self.tmp / "fb.json").read_bytes()
        while not self.stop.is_set():
            status, reply = call(self.url + "/v2/models/cancer/infer", "POST", body,
                                 {"Content-Type": "application/json"})
            self.tally.add("feedback-infer", status)
            if status == 200:
                pid = json.loads(reply)["parameters"]["prediction_id"]
                status, _ = call(self.url + "/v1/feedback", "POST",
                                 json.dumps({"prediction_id": pid, "ground_truth": 1}).encode(),
                                 {"Content-Type": "application/json"})
                self.tally.add("feedback", status)
            time.sleep(0.05)

    def registry_loop(self):
        version = 1
        while not self.stop.wait(3):
            version = 3 - version
            status, _ = call(self.url + "/api/2.0/mlflow/registered-models/alias", "POST",
                             json.dumps({"name": "cancer", "alias": "production",
                                         "version": str(version)}).encode(),
                             {"Content-Type": "application/json"})
            self.tally.add("alias", status)

    def upload_loop(self):
        blob = os.urandom(2 << 20)
        i = 0
        while not self.stop.wait(5):
            i += 1
            status, _ = call(f"{self.url}/api/2.0/mlflow-artifacts/artifacts/soak/{i % 20}.bin",
                             "PUT", blob, timeout=60)
            self.tally.add("upload", status)

    def outage_at(self, seconds):
        if self.stop.wait(seconds):
            return
        self.outage.set()
        print(f"  store down for {OUTAGE_SECONDS} s", flush=True)
        self.ferret.stop()
        time.sleep(OUTAGE_SECONDS)
        self.ferret.start()
        print("  store back", flush=True)
        time.sleep(10)  # pooled connections and the spool's replay come back
        self.outage.clear()

    def sample_loop(self):
        start = time.monotonic()
        pid = self.server.pid
        while not self.stop.wait(5):
            rss = int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
                      .group(1))
            fds = len(os.listdir(f"/proc/{pid}/fd"))
            threads = len(os.listdir(f"/proc/{pid}/task"))
            self.samples.append((time.monotonic() - start, rss, fds, threads))
            with open(self.tmp / "samples.csv", "a") as f:
                f.write(f"{self.samples[-1][0]:.0f},{rss},{fds},{threads},"
                        f"{int(self.outage.is_set())}\n")

    # ---- wrk, a minute at a time ----
    def wrk_minute(self, kinds):
        procs = {}
        for name, (path, body_file, header_length, connections, pace) in kinds.items():
            env = {**os.environ, "BODY_FILE": str(body_file), "PACE_MS": str(pace)}
            if header_length:
                env["HEADER_LENGTH"] = str(header_length)
            procs[name] = subprocess.Popen(
                ["wrk", "-t1", f"-c{connections}", "-d60s", "--latency", "-s",
                 str(ROOT / "bench" / "soak.lua"), self.url + path],
                env=env, stdout=subprocess.PIPE, text=True)
        minute = {}
        for name, proc in procs.items():
            out = proc.communicate()[0]
            ok, shed, other = map(int, re.search(r"statuses (\d+) (\d+) (\d+)", out).groups())
            sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                             r"timeout (\d+)", out)
            minute[name] = {
                "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
                "p50": to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
                "p99": to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
                "ok": ok, "shed": shed,
                "errors": other + (sum(map(int, sock.groups())) if sock else 0),
            }
        return minute

    def metric(self, name):
        _, text = call(self.url + "/metrics")
        return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$",
                                                  text.decode(), re.M))

    def run(self):
        body1 = make_body(1, self.tmp / "1.json")
        body64 = make_body(64, self.tmp / "64.json")
        binary, header_length = make_binary_body(1, self.tmp / "1.bin")
        v1 = self.tmp / "v1.json"
        v1.write_text(json.dumps({"instances": json.loads(body1.read_text())["inputs"][0]["data"]}))
        kinds = {  # name: (path, body, binary header length, connections, pace ms)
            "v2 1 row": ("/v2/models/cancer/infer", body1, None, 4, 10),
            "v2 64 rows": ("/v2/models/cancer/infer", body64, None, 2, 20),
            "v2 binary": ("/v2/models/cancer/infer", binary, header_length, 2, 10),
            "v1 1 row": ("/v1/models/cancer:predict", v1, None, 2, 10),
        }
        threads = [threading.Thread(target=t, daemon=True) for t in
                   (self.feedback_loop, self.registry_loop, self.upload_loop, self.sample_loop)]
        threads.append(threading.Thread(
            target=self.outage_at, args=(self.args.minutes * 30 - OUTAGE_SECONDS / 2,),
            daemon=True))
        for t in threads:
            t.start()
        print(f"{'minute':<7}" + "".join(f"{k + ' /s':>14}{'p50':>7}{'p99':>7}" for k in kinds) +
              f"{'503':>6}{'err':>5}{'rss MB':>8}{'fds':>5}{'thr':>5}", flush=True)
        for m in range(self.args.minutes):
            minute = self.wrk_minute(kinds)
            self.minutes.append(minute)
            last = self.samples[-1] if self.samples else (0, 0, 0, 0)
            print(f"{m + 1:<7}" + "".join(
                f"{minute[k]['rps']:>14.0f}{minute[k]['p50']:>7.2f}{minute[k]['p99']:>7.2f}"
                for k in kinds) + f"{sum(r['shed'] for r in minute.values()):>6}"
                f"{sum(r['errors'] for r in minute.values()):>5}{last[1] / 1024:>8.1f}"
                f"{last[2]:>5}{last[3]:>5}", flush=True)
        self.stop.set()
        for t in threads:
            t.join(timeout=120)

    def finish(self):
        """SIGTERM, then the checks. Returns the failures."""
        failures = []
        success = self.metric("inferd_inference_requests_total")
        dropped = self.metric("inferd_prediction_log_dropped_total")
        self.server.send_signal(signal.SIGTERM)
        code = self.server.wait(timeout=120)
        if code != 0:
            failures.append(f"inferd exited {code} on SIGTERM")
        from pymongo import MongoClient
        stored = MongoClient(self.store, serverSelectionTimeoutMS=10000)["soak"][
            "predictions"].count_documents({})
        wrk_ok = sum(r["ok"] for minute in self.minutes for r in minute.values())
        py_ok = sum(n for k, n in self.tally.counts.items() if k[:2] == ("feedback-infer", 200))
        print(f"answered by the server {success:.0f} (clients saw {wrk_ok + py_ok} 200s), "
              f"stored {stored}, dropped {dropped:.0f}")
        if stored != round(success):
            failures.append(f"{success:.0f} predictions answered, {stored} stored")
        if wrk_ok + py_ok > stored:
            failures.append(f"clients saw {wrk_ok + py_ok} predictions, {stored} stored")
        if dropped:
            failures.append(f"{dropped:.0f} prediction records dropped")
        errors = sum(r["errors"] for minute in self.minutes for r in minute.values())
        if errors:
            failures.append(f"{errors} inference errors other than 503")
        bad = self.tally.unexpected()
        if bad:
            failures.append(f"errors other than documented 503s: {bad}")
        print("python-driven outcomes:", dict(sorted(
            (f"{k[0]} {k[1]}{' (outage)' if k[2] else ''}", n)
            for k, n in self.tally.counts.items())))
        by_minute = {}
        for seconds, rss, fds, threads in self.samples:
            by_minute.setdefault(int(seconds // 60), []).append((rss, fds, threads))
        if len(by_minute) >= 3:
            second = statistics.mean(s[0] for s in by_minute[1])
            last = statistics.mean(s[0] for s in by_minute[max(by_minute)])
            growth = (last - second) / second
            print(f"resident memory: minute 2 {second / 1024:.1f} MB, last minute "
                  f"{last / 1024:.1f} MB ({growth:+.1%})")
            if abs(growth) > 0.05:
                failures.append(f"resident memory changed {growth:+.1%} after warm-up")
            for index, name in ((1, "open files"), (2, "threads")):
                early = max(s[index] for s in by_minute[1])
                late = max(s[index] for s in by_minute[max(by_minute)])
                print(f"{name}: minute 2 at most {early}, last minute at most {late}")
                if late > early:
                    failures.append(f"{name} grew from {early} to {late}")
        return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--binary", default=str(ROOT / "build" / "inferd"))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="inferd-soak-"))
    soak = Soak(args, tmp)
    print(f"soak: {args.minutes} minutes on {os.cpu_count()} cores; inferd --threads 2, "
          f"FerretDB store; logs in {tmp}", flush=True)
    soak.start()
    try:
        soak.run()
        failures = soak.finish()
    finally:
        if soak.server.poll() is None:
            soak.server.kill()
        soak.ferret.stop()
    for f in failures:
        print("FAILED:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

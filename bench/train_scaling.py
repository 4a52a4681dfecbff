#!/usr/bin/env python3
"""Sharded dataset processing and distributed training, measured: wall time, CPU time and
peak resident memory of every process, for 1 and 2 dataset shards and 1, 2 and 4 training
workers on one generated dataset (bench/README.md has the figures).

    .venv/bin/python bench/train_scaling.py --dir /tmp/inferd-train-bench [--rows 4000000]

The data (--rows rows of --features continuous features and a binary target, in --files CSV
files) is generated once into --dir and reused. Every run uses a fresh SQLite store there.
"""
import argparse
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TRACKER = re.compile(r"tracker listening on [^ ]+:(\d+)")


def generate(folder, rows, features, files, seed=7):
    if folder.exists() and len(list(folder.glob("*.csv"))) == files:
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=features)
    per_file = rows // files
    header = ",".join([f"f{i}" for i in range(features)] + ["y"])
    for f in range(files):
        x = rng.normal(size=(per_file, features)).astype(np.float32)
        margin = x @ weights + np.sin(3 * x[:, 0]) * 2 + x[:, 1] * x[:, 2]
        y = (margin + rng.normal(size=per_file) * 2 > 0).astype(np.int8)
        table = np.column_stack([x, y])
        np.savetxt(folder / f"part-{f:03d}.csv", table, delimiter=",", header=header,
                   comments="", fmt=["%.6g"] * features + ["%d"])
        print(f"generated part-{f:03d}.csv", flush=True)


class Run:
    """A process whose output is collected, and whose rusage is taken when it ends."""

    def __init__(self, args, env):
        self.lines = []
        self.started = time.monotonic()
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=env)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_for(self, pattern, timeout=600):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = pattern.search("".join(self.lines))
            if m:
                return m
            time.sleep(0.05)
        raise RuntimeError("".join(self.lines))

    def finish(self):
        _, status, usage = os.wait4(self.proc.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.reader.join(5)
        self.wall = time.monotonic() - self.started
        self.cpu = usage.ru_utime + usage.ru_stime
        self.peak_mb = usage.ru_maxrss / 1024
        if self.proc.returncode != 0:
            raise RuntimeError("".join(self.lines))
        return self


def inferd(binary, store, *args, env):
    return [str(binary), "--store", f"sqlite:///{store}", *args]


def add_dataset(binary, data, work, shards, env):
    store = work / f"shards-{shards}.db"
    store.unlink(missing_ok=True)
    columnar = work / f"columnar-{shards}"
    shutil.rmtree(columnar, ignore_errors=True)
    started = time.monotonic()
    runs = [Run(inferd(binary, store, "datasets", "add", str(data), "--name", "bench",
                       "--shard", f"{i}/{shards}", "--run", "bench", "--columnar-dir",
                       str(columnar), env=env), env) for i in range(shards)]
    runs = [r.finish() for r in runs]
    wall = time.monotonic() - started
    print(f"datasets add, {shards} shard(s): {wall:.1f} s wall, "
          f"CPU {sum(r.cpu for r in runs):.1f} s, peak RSS per shard "
          f"{max(r.peak_mb for r in runs):.0f} MB", flush=True)
    return store, {"shards": shards, "wall": wall, "cpu": sum(r.cpu for r in runs),
                   "peak": max(r.peak_mb for r in runs)}


def train(binary, store, workers, threads, rounds, env):
    common = ["train", "--dataset", "bench", "--target", "y", "--register", "bench",
              "--num-rounds", str(rounds), "--max-depth", "6", "--threads", str(threads),
              "--workers", str(workers)]
    started = time.monotonic()
    if workers == 1:
        runs = [Run(inferd(binary, store, *common, env=env), env)]
    else:
        first = Run(inferd(binary, store, *common, "--worker-index", "0", "--tracker-address",
                           "127.0.0.1:0", env=env), env)
        port = first.wait_for(TRACKER).group(1)
        runs = [first] + [Run(inferd(binary, store, *common, "--worker-index", str(i),
                                     "--tracker-address", f"127.0.0.1:{port}", env=env), env)
                          for i in range(1, workers)]
    runs = [r.finish() for r in runs]
    wall = time.monotonic() - started
    out = "".join(runs[0].lines)
    auc = float(re.search(r"holdout auc ([\d.]+)", out).group(1))
    read = max(float(re.search(r"holdout rows in ([\d.]+) s", "".join(r.lines)).group(1))
               for r in runs)
    result = {"workers": workers, "threads": threads, "wall": wall, "read": read,
              "cpu": sum(r.cpu for r in runs), "busiest": max(r.cpu for r in runs),
              "peak": max(r.peak_mb for r in runs), "total": sum(r.peak_mb for r in runs),
              "auc": auc}
    print(f"train, {workers} worker(s) x {threads} thread(s): {wall:.1f} s wall "
          f"(reading {read:.1f} s), CPU {result['cpu']:.1f} s (busiest worker "
          f"{result['busiest']:.1f} s), peak RSS per worker "
          f"{result['peak']:.0f} MB (all {result['total']:.0f} MB), holdout AUC {auc:.5f}",
          flush=True)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=ROOT / "build" / "inferd", type=Path)
    parser.add_argument("--dir", default=Path("/tmp/inferd-train-bench"), type=Path)
    parser.add_argument("--rows", default=4_000_000, type=int)
    parser.add_argument("--features", default=20, type=int)
    parser.add_argument("--files", default=16, type=int)
    parser.add_argument("--rounds", default=50, type=int)
    parser.add_argument("--train-only", action="store_true",
                        help="reuse the dataset the last run recorded (shards-2.db)")
    args = parser.parse_args()
    env = {**os.environ, "INFERD_GRPC_PORT": "0"}
    data = args.dir / "data"
    generate(data, args.rows, args.features, args.files)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    if args.train_only:
        store = args.dir / "shards-2.db"
    else:
        store, _ = add_dataset(args.binary, data, args.dir, 2, env)
        add_dataset(args.binary, data, args.dir, 1, env)
    for workers, threads in ((1, 1), (1, 2), (2, 1), (4, 1)):
        train(args.binary, store, workers, threads, args.rounds, env)
    print(f"load average {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()

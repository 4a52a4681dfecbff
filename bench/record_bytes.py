#!/usr/bin/env python3
"""Bytes per prediction record in the SQLite store: serves the demo model
(tests/data/models/breast_cancer, 30 features, one output) with the prediction log on,
sends N requests of 1 and of 64 rows, and reports what each record adds to the database
file (after a WAL checkpoint) and the record itself (the JSON document and its id for the
old layout, predictions_size's bytes for the compact one).

    bench/record_bytes.py [--binary build/inferd] [--requests 2000]
"""
import argparse
import json
import os
import re
import sqlite3
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "tests" / "data" / "models"


def body(rows):
    lines = (ROOT / "tests" / "data" / "breast_cancer.csv").read_text().splitlines()[1:]
    data = [[float(v) for v in line.split(",")[:-1]] for line in lines[:rows]]
    return json.dumps({"inputs": [{"name": "input__0", "shape": [rows, 30], "datatype": "FP32",
                                   "data": data}]}).encode()


def count(db_path):
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT count(*) FROM predictions").fetchone()[0]


def measure(binary, rows, requests, tmp):
    db_path = tmp / f"{rows}" / "inferd.db"
    proc = subprocess.Popen([binary, "serve", "--host", "127.0.0.1", "--port", "0", "--grpc-port",
                             "-1", "--model-repository", str(MODEL_DIR), "--store",
                             f"sqlite:///{db_path}", "--spool-dir", str(tmp / f"spool{rows}"),
                             "--access-log-sample-rate", "0", "--log-format", "text"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    port = None
    for line in proc.stdout:
        m = re.search(r"listening on [^ ]+:(\d+)", line)
        if m:
            port = int(m.group(1))
            break
    url = f"http://127.0.0.1:{port}/v2/models/breast_cancer/infer"
    payload = body(rows)
    time.sleep(0.5)  # models load
    with sqlite3.connect(db_path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    empty = os.path.getsize(db_path)
    for _ in range(requests):
        req = urllib.request.Request(url, data=payload, headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req).read()
    deadline = time.monotonic() + 60
    while count(db_path) < requests and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.terminate()
    proc.wait(30)
    with sqlite3.connect(db_path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        columns = [r[1] for r in db.execute("PRAGMA table_info(predictions)")]
        if "doc" in columns:
            record = db.execute("SELECT avg(length(id) + length(doc)) FROM predictions").fetchone()[0]
        else:
            n, size = db.execute("SELECT records, bytes FROM predictions_size").fetchone()
            record = size / n
    file_bytes = (os.path.getsize(db_path) - empty) / requests
    return record, file_bytes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=str(ROOT / "build" / "inferd"))
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="inferd-bytes-") as tmp:
        for rows in (1, 64):
            record, file_bytes = measure(args.binary, rows, args.requests, Path(tmp))
            print(f"{rows} row(s): record {record:.0f} bytes, database file +{file_bytes:.0f} "
                  f"bytes per record ({args.binary})")


if __name__ == "__main__":
    main()

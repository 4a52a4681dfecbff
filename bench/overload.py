#!/usr/bin/env python3
"""Overload benchmark: what inferd does when more inference arrives than it can serve.

inferd serves a 500-tree, depth-8 model from its registry (SQLite) with one I/O thread.
Each request is a 512-row V2 JSON batch (a few milliseconds of work), so the server's
capacity is a few hundred requests a second, which a Python open-loop client can offer
five times over without becoming the bottleneck.

1. capacity: wrk, closed loop (4 connections, no pause): the requests/s the server carries.
2. For each offered load (2x and 5x capacity) and each setting (--max-queue-ms 0: never
   shed, --max-queue-ms N: shed), an open-loop client sends requests on a fixed schedule
   for --duration seconds, whatever the answers (latency counted from the scheduled send
   time, so a queue shows), over as many keep-alive connections as it needs. It prints per
   phase: answered 200/s (goodput), 503/s (shed), other errors, and p50 / p99 / max latency
   of the accepted (200) requests; it fails (exit 1) if a 503 lacks Retry-After.

Without shedding the queue grows for as long as the overload lasts and every accepted
request waits in it; with shedding the requests that waited past the limit get 503 +
Retry-After at once and the accepted ones stay within about the limit.

    bench/overload.py [--duration 15] [--max-queue-ms 100] [--binary build/inferd]
"""
import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import make_body, wait_ready  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "breast_cancer.csv"
ROWS = 512
MAX_CONNECTIONS = 2000


def capacity(url, body_file, duration):
    env = {**os.environ, "BODY_FILE": str(body_file)}
    out = subprocess.run(["wrk", "-t1", "-c4", f"-d{int(duration)}s", "-s",
                          str(ROOT / "bench" / "post.lua"), url],
                         env=env, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


class OpenLoop:
    """Sends `rate` requests/s for `duration` s on schedule; records (status, latency)."""

    def __init__(self, port, path, body, rate, duration):
        self.port, self.rate, self.duration = port, rate, duration
        self.request = (f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json"
                        f"\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
        self.idle = []
        self.open = 0
        self.results = []  # (status, latency seconds)
        self.unsent = 0
        self.no_retry_after = 0  # 503s without a Retry-After header

    async def connection(self):
        if self.idle:
            return self.idle.pop()
        if self.open >= MAX_CONNECTIONS:
            return None
        self.open += 1
        return await asyncio.open_connection("127.0.0.1", self.port)

    async def one(self, scheduled):
        conn = await self.connection()
        if conn is None:
            self.unsent += 1
            return
        reader, writer = conn
        try:
            writer.write(self.request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = int(re.search(rb"Content-Length: (\d+)", head, re.I).group(1))
            await reader.readexactly(length)
            self.results.append((status, time.monotonic() - scheduled))
            if status == 503 and not re.search(rb"\r\nRetry-After: \d+\r\n", head, re.I):
                self.no_retry_after += 1
            if b"Connection: close" in head:
                writer.close()
                self.open -= 1
            else:
                self.idle.append(conn)
        except (OSError, asyncio.IncompleteReadError):
            self.results.append((0, time.monotonic() - scheduled))
            writer.close()
            self.open -= 1

    async def run(self):
        start = time.monotonic()
        tasks = []
        n = int(self.rate * self.duration)
        for i in range(n):
            scheduled = start + i / self.rate
            delay = scheduled - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.one(scheduled)))
        await asyncio.gather(*tasks)
        for _, writer in self.idle:
            writer.close()
        return time.monotonic() - start


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def start_server(binary, store, tmp, max_queue_ms):
    log = open(tmp / f"serve-{max_queue_ms}.log", "w")
    server = subprocess.Popen(
        [binary, "--store", store, "serve", "--host", "127.0.0.1", "--port", "0",
         "--threads", "1", "--grpc-port", "-1", "--max-queue-ms", str(max_queue_ms),
         "--spool-dir", str(tmp / "spool"), "--access-log-sample-rate", "0"],
        stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        m = re.search(r"listening on [\d.]+:(\d+)", (tmp / f"serve-{max_queue_ms}.log").read_text())
        if m:
            port = int(m.group(1))
            wait_ready(f"http://127.0.0.1:{port}")
            return server, port
        time.sleep(0.1)
    raise RuntimeError("inferd did not start")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--max-queue-ms", type=int, default=100)
    parser.add_argument("--binary", default=str(ROOT / "build" / "inferd"))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="inferd-overload-"))
    store = f"sqlite:///{tmp / 'inferd.db'}"
    subprocess.run([args.binary, "--store", store, "train", "--data", str(DATA), "--target",
                    "target", "--register", "big", "--alias", "production", "--num-rounds",
                    "500", "--max-depth", "8"], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    body_file = make_body(ROWS, tmp / "body.json")
    body = body_file.read_bytes()
    path = "/v2/models/big/infer"
    print(f"{ROWS}-row V2 JSON to a 500-tree depth-8 model; inferd --threads 1 on "
          f"{os.cpu_count()} cores; open-loop client in Python; {args.duration:g} s a phase")
    print(f"{'setting':<22}{'offered/s':>10}{'200/s':>8}{'503/s':>8}{'other':>7}"
          f"{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'conns':>7}")
    base = None
    failed = False
    for max_queue_ms in (args.max_queue_ms, 0):
        server, port = start_server(args.binary, store, tmp, max_queue_ms)
        try:
            if base is None:
                capacity(f"http://127.0.0.1:{port}{path}", body_file, 3)  # warm-up
                base = capacity(f"http://127.0.0.1:{port}{path}", body_file, args.duration)
                print(f"{'capacity (wrk -c4)':<22}{'':>10}{base:>8.0f}")
            for factor in (2, 5):
                load = OpenLoop(port, path, body, factor * base, args.duration)
                elapsed = asyncio.run(load.run())
                ok = [lat * 1000 for status, lat in load.results if status == 200]
                shed = sum(1 for status, _ in load.results if status == 503)
                other = len(load.results) - len(ok) - shed + load.unsent
                name = f"{factor}x, " + (f"shed at {max_queue_ms} ms" if max_queue_ms
                                         else "never shed")
                print(f"{name:<22}{factor * base:>10.0f}{len(ok) / elapsed:>8.0f}"
                      f"{shed / elapsed:>8.0f}{other:>7}{percentile(ok, 50):>9.1f}"
                      f"{percentile(ok, 99):>9.1f}{max(ok, default=float('nan')):>9.1f}"
                      f"{load.open:>7}")
                if load.no_retry_after:
                    print(f"  FAILED: {load.no_retry_after} 503s without Retry-After")
                    failed = True
                time.sleep(1)  # let a queue left over drain
            metrics = subprocess.run(["curl", "-s", f"http://127.0.0.1:{port}/metrics"],
                                     capture_output=True, text=True).stdout
            counted = re.search(r'inferd_shed_requests_total\{reason="late"\} (\d+)', metrics)
            print(f"  inferd_shed_requests_total{{reason=\"late\"}} = "
                  f"{counted.group(1) if counted else '?'}")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Memory under load: inferd's resident set while serving the demo model for a long
wrk run (default 10 minutes, 1-row V2 JSON, every prediction logged to SQLite).
Samples VmRSS every few seconds and prints the idle size, the range under load and the
drift between the first and the last minute.

    bench/memory.py [--minutes 10] [--connections 16]
"""
import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import MODEL_DIR, ROOT, make_body, start, stop  # noqa: E402


def rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--interval", type=float, default=5)
    parser.add_argument("--port", type=int, default=18131)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="inferd-memory-"))
    body = make_body(1, tmp / "1.json")
    url = f"http://127.0.0.1:{args.port}"
    with open(tmp / "server.log", "w") as log:
        proc = start([str(ROOT / "build/inferd"), "serve", "--host", "127.0.0.1", "--port",
                      str(args.port), "--grpc-port", "0", "--model-repository", str(MODEL_DIR.parent),
                      "--store", f"sqlite:///{tmp}/store/inferd.db", "--spool-dir",
                      str(tmp / "spool")], url, log)
        try:
            idle = rss_kb(proc.pid)
            seconds = int(args.minutes * 60)
            wrk = subprocess.Popen(
                ["wrk", "-t2", f"-c{args.connections}", f"-d{seconds}s", "-s",
                 str(ROOT / "bench/post.lua"), url + "/v2/models/breast_cancer/infer"],
                env={"BODY_FILE": str(body), "PATH": "/usr/bin:/bin"},
                stdout=subprocess.PIPE, text=True)
            samples = []
            started = time.monotonic()
            while wrk.poll() is None:
                time.sleep(args.interval)
                if wrk.poll() is None:
                    samples.append((time.monotonic() - started, rss_kb(proc.pid)))
            out = wrk.stdout.read()
        finally:
            stop(proc)
    rps = next((l.split()[1] for l in out.splitlines() if l.startswith("Requests/sec")), "?")
    first = [kb for t, kb in samples if t <= 60]
    last = [kb for t, kb in samples if t >= samples[-1][0] - 60]
    peak = max(kb for _, kb in samples)
    print(f"{args.minutes:g} min of wrk -t2 -c{args.connections} 1-row V2 JSON at {rps} req/s, "
          f"every prediction logged to SQLite")
    print(f"idle RSS {idle / 1024:.1f} MB; under load min {min(kb for _, kb in samples) / 1024:.1f}"
          f" MB, max {peak / 1024:.1f} MB")
    drift = (sum(last) / len(last)) / (sum(first) / len(first)) - 1
    print(f"mean RSS first minute {sum(first) / len(first) / 1024:.1f} MB, last minute "
          f"{sum(last) / len(last) / 1024:.1f} MB: {drift * 100:+.1f}%")
    steady = [kb for t, kb in samples if t > 60]
    if steady:
        print(f"after the first minute: {min(steady) / 1024:.1f}-{max(steady) / 1024:.1f} MB "
              f"({(max(steady) / min(steady) - 1) * 100:.1f}% apart)")
    for t, kb in samples[::max(1, len(samples) // 20)]:
        print(f"  t={t:6.0f}s  {kb / 1024:6.1f} MB")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()

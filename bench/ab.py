#!/usr/bin/env python3
"""A/B throughput: two inferd builds serving the same model, measured in turns in one run.

For a change that must not cost speed: each round runs wrk against build A, then build B
(1-row and 64-row V2 JSON, the prediction log on as shipped), and the table gives each
build's median over the rounds and B/A, for requests/s and for the server's CPU time per
request (utime + stime of the process over the run / requests answered), which depends far
less on what else the machine runs. Turns interleave so that drift on a shared machine hits
both builds alike.

    bench/ab.py OLD/build/inferd build/inferd [--rounds 3] [--duration 10]
"""
import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import MODEL_DIR, make_body, run_wrk, wait_ready  # noqa: E402


def cpu_seconds(pid):
    """User + system CPU time of a process, all its threads, so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve(binary, tmp, log):
    """Starts `binary` on a free port (as the server logs it) and returns (process, url)."""
    proc = subprocess.Popen(
        [binary, "serve", "--host", "127.0.0.1", "--port", "0", "--model-repository",
         str(MODEL_DIR.parent), "--threads", str(os.cpu_count()),
         "--store", f"sqlite:///{tmp}/store.db", "--spool-dir", str(tmp / "spool")],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"listening on [^ ]*:(\d+)", Path(log.name).read_text())
        if found:
            url = f"http://127.0.0.1:{found.group(1)}"
            wait_ready(url)
            return proc, url
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    sys.exit(f"{binary} did not start: {Path(log.name).read_text()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", help="baseline inferd binary")
    parser.add_argument("b", help="candidate inferd binary")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="inferd-ab-"))
    bodies = {"1 row": make_body(1, tmp / "1.json"), "64 rows": make_body(64, tmp / "64.json")}
    results = {(build, label): [] for build in "ab" for label in bodies}
    cpu = {(build, label): [] for build in "ab" for label in bodies}
    warmup = argparse.Namespace(**{**vars(args), "duration": 2})
    for _ in range(args.rounds):
        for build in "ab":
            run_dir = Path(tempfile.mkdtemp(dir=tmp))
            with open(run_dir / "server.log", "w") as log:
                proc, url = serve(getattr(args, build), run_dir, log)
                try:
                    infer = url + "/v2/models/breast_cancer/infer"
                    for label, body in bodies.items():
                        run_wrk(infer, body, warmup)
                        before = cpu_seconds(proc.pid)
                        r = run_wrk(infer, body, args)
                        used = cpu_seconds(proc.pid) - before
                        if r["errors"]:
                            sys.exit(f"{build}: {r['errors']} errors")
                        results[(build, label)].append(r["rps"])
                        cpu[(build, label)].append(1e6 * used / (r["rps"] * args.duration))
                finally:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(60)
    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, {args.rounds} rounds "
          f"A then B, demo model, V2 JSON, prediction log on (SQLite)\n")
    print("| request | A req/s (median) | B req/s (median) | B / A | A rounds | B rounds |")
    print("|---|---:|---:|---:|---|---|")
    for label in bodies:
        a, b = results[("a", label)], results[("b", label)]
        print(f"| {label} | {statistics.median(a):.0f} | {statistics.median(b):.0f} "
              f"| {statistics.median(b) / statistics.median(a):.2f} "
              f"| {', '.join(f'{x:.0f}' for x in a)} | {', '.join(f'{x:.0f}' for x in b)} |")
    print("\n| request | A CPU µs/request (median) | B CPU µs/request (median) | B / A |")
    print("|---|---:|---:|---:|")
    for label in bodies:
        a, b = statistics.median(cpu[("a", label)]), statistics.median(cpu[("b", label)])
        print(f"| {label} | {a:.1f} | {b:.1f} | {b / a:.2f} |")


if __name__ == "__main__":
    main()

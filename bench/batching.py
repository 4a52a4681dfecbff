#!/usr/bin/env python3
"""Where dynamic batching helps and where it hurts: inferd serving the demo model with
each runtime (native engine, libxgboost) with batching off and on, single-row V2 JSON
requests from wrk, 64 connections, 16 server threads (so that requests can meet).

    bench/batching.py [--duration 8] [--delay-us 200] [--preferred 16]
"""
import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import ROOT, make_body, run_wrk, start, stop  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--server-threads", type=int, default=16)
    parser.add_argument("--delay-us", type=int, default=200)
    parser.add_argument("--preferred", type=int, default=16)
    parser.add_argument("--port", type=int, default=18121)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="inferd-batching-"))
    body = make_body(1, tmp / "1.json")
    results = []
    with open(tmp / "server.log", "w") as log:
        for runtime in ("native", "xgboost"):
            for batching in (False, True):
                repo = tmp / f"{runtime}-{batching}"
                shutil.copytree(ROOT / "tests/data/models/breast_cancer", repo / "breast_cancer")
                config_path = repo / "breast_cancer" / "config.json"
                config = json.loads(config_path.read_text())
                config["runtime"] = runtime
                if batching:
                    config["dynamic_batching"] = {"max_queue_delay_microseconds": args.delay_us,
                                                  "preferred_batch_size": args.preferred}
                config_path.write_text(json.dumps(config))
                url = f"http://127.0.0.1:{args.port}"
                proc = start([str(ROOT / "build/inferd"), "serve", "--host", "127.0.0.1",
                              "--port", str(args.port), "--grpc-port", "0", "--model-repository", str(repo),
                              "--threads", str(args.server_threads), "--log-sample-rate", "0",
                              "--access-log-sample-rate", "0",
                              "--store", f"sqlite:///{tmp}/store.db", "--spool-dir",
                              str(tmp / "spool")], url, log)
                try:
                    infer = url + "/v2/models/breast_cancer/infer"
                    run_wrk(infer, body, argparse.Namespace(**{**vars(args), "duration": 2}))
                    results.append((runtime, batching, run_wrk(infer, body, args)))
                finally:
                    stop(proc)
    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, 1-row V2 JSON, "
          f"{args.server_threads} server threads, batching: max_queue_delay "
          f"{args.delay_us} us, preferred_batch_size {args.preferred}\n")
    print("| runtime | dynamic batching | requests/s | p50 ms | p99 ms | errors |")
    print("|---|---|---:|---:|---:|---:|")
    for runtime, batching, r in results:
        print(f"| {runtime} | {'on' if batching else 'off'} | {r['rps']:.0f} | {r['p50']:.3f} "
              f"| {r['p99']:.3f} | {r['errors']} |")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Load benchmark: inferd against the FastAPI + XGBoost peer and the HTTP floor, in one run.

Serves the same model (tests/data/models/breast_cancer, 100 trees, 30 features) from
inferd and the peer, and drives each in turn with wrk over loopback with the same V2 JSON
requests (1 row and 64 rows). Two floors answer the same requests with a fixed reply:
Debian's nginx (`return 200`, one worker per core) and inferd's own transport without a
model (build/http_floor). Prints requests/s, p50/p99 latency, errors and the ratios as a
Markdown table. Only one server runs while it is measured.

    bench/load.py [--duration 10] [--connections 16] [--threads 2]
"""
import argparse
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "tests" / "data" / "models" / "breast_cancer"
PEER = ROOT.parent / "shared" / "peers" / "fastapi-xgboost"


def wait_ready(url, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/v2/health/ready", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} never became ready")


def make_body(rows, path):
    lines = (ROOT / "tests" / "data" / "breast_cancer.csv").read_text().splitlines()[1:]
    data = [[float(v) for v in line.split(",")[:-1]] for line in lines[:rows]]
    body = {"inputs": [{"name": "input__0", "shape": [rows, 30], "datatype": "FP32",
                        "data": data}]}
    path.write_text(json.dumps(body))
    return path


def make_binary_body(rows, path):
    """The same rows as Triton's binary tensor extension: a JSON header, then float32s.
    Returns (path, header length)."""
    lines = (ROOT / "tests" / "data" / "breast_cancer.csv").read_text().splitlines()[1:]
    values = [float(v) for line in lines[:rows] for v in line.split(",")[:-1]]
    header = json.dumps({"inputs": [{"name": "input__0", "shape": [rows, 30], "datatype": "FP32",
                                     "parameters": {"binary_data_size": 4 * len(values)}}],
                         "outputs": [{"name": "output__0", "parameters": {"binary_data": True}}]})
    path.write_bytes(header.encode() + struct.pack(f"<{len(values)}f", *values))
    return path, len(header)


def to_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if not m:
        raise ValueError(f"unexpected wrk latency '{text}'")
    value, unit = float(m.group(1)), m.group(2)
    return {"us": value / 1000, "ms": value, "s": value * 1000, "m": value * 60000}[unit]


def run_wrk(url, body_file, args, paced=False, header_length=None):
    """wrk at full speed, or paced: 8 connections each pausing 2 ms between requests, an
    offered load both servers can carry, so that latency is the server's own. With
    header_length, the body is a binary-extension request."""
    connections = 8 if paced else args.connections
    env = {**os.environ, "BODY_FILE": str(body_file), "PACE_MS": "2"}
    if header_length is not None:
        env["HEADER_LENGTH"] = str(header_length)
    out = subprocess.run(
        ["wrk", f"-t{args.threads}", f"-c{connections}", f"-d{args.duration}s", "--latency",
         "-s", str(ROOT / "bench" / ("paced.lua" if paced else "post.lua")), url],
        env=env, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return {"rps": rps, "p50": p50, "p99": p99, "errors": errors}


def wait_listening(url, timeout=30):
    """Waits until something answers HTTP at `url` (any status)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(urllib.request.Request(url, data=b"{}"), timeout=1).read()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} never answered")


def start(cmd, url, log):
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    wait_ready(url)
    return proc


def stop(proc):
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


NGINX_CONF = """
worker_processes {workers};
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      default_type application/json;
      return 200 '{reply}';
    }}
  }}
}}
"""
FIXED_REPLY = ('{"model_name":"breast_cancer","model_version":"1","outputs":[{"name":"output__0",'
               '"datatype":"FP32","shape":[1],"data":[0.00834]}]}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--port", type=int, default=18101)
    parser.add_argument("--log-sample-rate", type=float, default=1.0,
                        help="inferd's prediction log sampling (1: every request is stored)")
    parser.add_argument("--access-log-sample-rate", type=float, default=1.0,
                        help="inferd's access log sampling (1: a JSON line per request)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: run scripts/install-deps.sh")

    tmp = Path(tempfile.mkdtemp(prefix="inferd-bench-"))
    bodies = {"1 row": make_body(1, tmp / "1.json"), "64 rows": make_body(64, tmp / "64.json")}
    cores = os.cpu_count()
    inferd_url = f"http://127.0.0.1:{args.port}"
    peer_url = f"http://127.0.0.1:{args.port + 1}"
    nginx_url = f"http://127.0.0.1:{args.port + 2}"
    floor_url = f"http://127.0.0.1:{args.port + 3}"
    (tmp / "nginx.conf").write_text(NGINX_CONF.format(workers=cores, tmp=tmp, port=args.port + 2,
                                                      reply=FIXED_REPLY))
    floors = {
        "nginx static": (["nginx", "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "nginx-error.log")],
                         nginx_url + "/v2/models/breast_cancer/infer", None),
        "inferd transport": ([str(ROOT / "build" / "http_floor"), str(args.port + 3), str(cores)],
                             floor_url + "/v2/models/breast_cancer/infer", None),
    }
    systems = {
        "inferd": ([str(ROOT / "build" / "inferd"), "serve", "--host", "127.0.0.1", "--port",
                    str(args.port), "--grpc-port", "0", "--model-repository", str(MODEL_DIR.parent),
                    "--threads", str(cores), "--store", f"sqlite:///{tmp}/store/inferd.db",
                    "--spool-dir", str(tmp / "spool"),
                    "--log-sample-rate", str(args.log_sample_rate),
                    "--access-log-sample-rate", str(args.access_log_sample_rate)], inferd_url + "/v2/models/breast_cancer/infer",
                   inferd_url),
        "peer": (["bash", str(PEER / "run.sh"), str(MODEL_DIR / "1" / "model.json"),
                  str(args.port + 1), "breast_cancer", str(cores)],
                 peer_url + "/v2/models/breast_cancer/infer", peer_url),
    }
    results = {}
    warmup = argparse.Namespace(**{**vars(args), "duration": 2})
    with open(tmp / "servers.log", "w") as log:
        for name, (cmd, infer_url, _) in floors.items():
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                wait_listening(infer_url)
                run_wrk(infer_url, bodies["1 row"], warmup)
                results[(name, "1 row")] = run_wrk(infer_url, bodies["1 row"], args)
            finally:
                stop(proc)
        for name, (cmd, infer_url, base) in systems.items():
            proc = start(cmd, base, log)
            try:
                for label, body in bodies.items():
                    run_wrk(infer_url, body, warmup)
                    results[(name, label)] = run_wrk(infer_url, body, args)
                results[(name, "1 row paced")] = run_wrk(infer_url, bodies["1 row"], args,
                                                         paced=True)
                if name == "inferd":  # the peer has no binary tensor extension
                    path, length = make_binary_body(64, tmp / "64.bin")
                    results[(name, "64 rows binary")] = run_wrk(infer_url, path, args,
                                                                 header_length=length)
            finally:
                stop(proc)

    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, loopback, "
          f"{cores} cores, breast_cancer (100 trees, 30 features), V2 JSON, "
          f"inferd prediction log sampling {args.log_sample_rate} into SQLite, access log "
          f"sampling {args.access_log_sample_rate}\n")
    print("| request | system | requests/s | p50 ms | p99 ms | errors |")
    print("|---|---|---:|---:|---:|---:|")
    for (name, label), r in sorted(results.items(), key=lambda kv: kv[0][1]):
        print(f"| {label} | {name} | {r['rps']:.0f} | {r['p50']:.3f} | {r['p99']:.3f} "
              f"| {r['errors']} |")
    print()
    for label in [*bodies, "1 row paced"]:
        a, b = results[("inferd", label)], results[("peer", label)]
        print(f"{label}: inferd/peer throughput {a['rps'] / b['rps']:.1f}x, "
              f"p99 {a['p99'] / b['p99']:.2f} of the peer's")
    binary = results[("inferd", "64 rows binary")]
    print(f"64 rows: inferd binary tensors / peer JSON {binary['rps'] / results[('peer', '64 rows')]['rps']:.1f}x")
    nginx, floor, one = (results[(n, "1 row")] for n in ("nginx static", "inferd transport", "inferd"))
    print(f"1 row: inferd/nginx static {one['rps'] / nginx['rps']:.2f}, "
          f"inferd transport/nginx static {floor['rps'] / nginx['rps']:.2f}, "
          f"nginx static/peer {nginx['rps'] / results[('peer', '1 row')]['rps']:.1f}x")
    shutil.rmtree(tmp)
    failed = sum(r["errors"] for r in results.values())
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

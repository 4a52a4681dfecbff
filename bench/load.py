#!/usr/bin/env python3
"""Load benchmark: inferd against the FastAPI + XGBoost peer and the HTTP floor, in one run.

Serves the same model (tests/data/models/breast_cancer, 100 trees, 30 features) from
inferd and the peer, and drives each in turn with wrk over loopback with the same V2 JSON
requests (1 row and 64 rows). Two floors answer the same requests with a fixed reply:
Debian's nginx (`return 200`, one worker per core) and inferd's own transport without a
model (build/http_floor). Prints requests/s, p50/p99 latency, errors and the ratios as a
Markdown table. Only one server runs while it is measured.

    bench/load.py [--duration 10] [--connections 16] [--threads 2]
    bench/load.py --compare-logs 5 [--duration 10]

--compare-logs N runs inferd in N rounds of three settings side by side (logs off; the
prediction log on into SQLite; the prediction log and the access log on), 1 row and 64 rows
each, then FastAPI and MLServer once, and prints the medians, the ratios to logs off, the
prediction writer's CPU per record (its thread's time in /proc) and the store's bytes per
record.
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
MLSERVER = ROOT.parent / "shared" / "peers" / "mlserver-xgboost"
LOG_SETTINGS = {"logs off": ("0", "0"), "prediction log": ("1", "0"), "both logs": ("1", "1")}


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


def thread_cpu_seconds(pid, name):
    """utime + stime of the threads of `pid` called `name`."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        if comm == name:
            fields = stat[stat.rindex(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def process_cpu_seconds(pid):
    """utime + stime of every thread of `pid`."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metric(url, name):
    with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
    return 0.0


def median(values):
    values = sorted(values)
    return values[len(values) // 2] if len(values) % 2 else sum(values[len(values) // 2 - 1:][:2]) / 2


def compare_logs(args, tmp, bodies, log, peers=True):
    """Rounds of inferd with the logs off and on, side by side; then the peers once."""
    url = f"http://127.0.0.1:{args.port}"
    infer = url + "/v2/models/breast_cancer/infer"
    warmup = argparse.Namespace(**{**vars(args), "duration": 2})
    rps = {}  # (setting, label) -> [requests/s per round]
    cpu_per_request = {}  # (setting, label) -> [inferd's CPU seconds per request, per round]
    writer = {label: [] for label in bodies}  # label -> [(cpu seconds, records)]
    stored = {}  # label -> (records, bytes) in the store after its runs
    for round_ in range(args.compare_logs):
        for setting, (prediction_log, access_log) in LOG_SETTINGS.items():
            store = tmp / f"store-{round_}-{setting.replace(' ', '-')}"
            proc = start([str(ROOT / "build" / "inferd"), "serve", "--host", "127.0.0.1", "--port",
                          str(args.port), "--grpc-port", "-1", "--model-repository",
                          str(MODEL_DIR.parent), "--threads", str(os.cpu_count()), "--store",
                          f"sqlite:///{store}/inferd.db", "--spool-dir", str(store / "spool"),
                          "--log-sample-rate", prediction_log,
                          "--access-log-sample-rate", access_log], url, log)
            try:
                for label, body in bodies.items():
                    run_wrk(infer, body, warmup)
                    cpu0 = thread_cpu_seconds(proc.pid, "predlog-writer")
                    written0 = metric(url, "inferd_prediction_log_written_total")
                    process0 = process_cpu_seconds(proc.pid)
                    r = run_wrk(infer, body, args)
                    rps.setdefault((setting, label), []).append(r["rps"])
                    cpu_per_request.setdefault((setting, label), []).append(
                        (process_cpu_seconds(proc.pid) - process0) / (r["rps"] * args.duration))
                    if prediction_log == "1":
                        deadline = time.monotonic() + 60  # the writer catches up
                        while metric(url, "inferd_prediction_log_queue_depth") > 0 and \
                                time.monotonic() < deadline:
                            time.sleep(0.2)
                        writer[label].append((thread_cpu_seconds(proc.pid, "predlog-writer") - cpu0,
                                              metric(url, "inferd_prediction_log_written_total") -
                                              written0))
            finally:
                stop(proc)
            if prediction_log == "1" and round_ == 0:
                import sqlite3
                with sqlite3.connect(store / "inferd.db") as db:
                    stored[setting] = db.execute(
                        "SELECT records, bytes FROM predictions_size").fetchone()
                stored[setting] += (os.path.getsize(store / "inferd.db"),)
            shutil.rmtree(store, ignore_errors=True)
        print(f"round {round_ + 1}: " + ", ".join(
            f"{setting} {label} {rps[(setting, label)][-1]:.0f}"
            for setting in LOG_SETTINGS for label in bodies), flush=True)
    peer_commands = {
        "FastAPI": (["bash", str(PEER / "run.sh"), str(MODEL_DIR / "1" / "model.json"),
                     str(args.port + 1), "breast_cancer", str(os.cpu_count())], args.port + 1),
        "MLServer": (["bash", str(MLSERVER / "run.sh"), str(MODEL_DIR / "1" / "model.json"),
                      str(args.port + 4), "breast_cancer", str(args.port + 5)], args.port + 4),
    }
    for name, (cmd, port) in (peer_commands if peers else {}).items():
        peer_url = f"http://127.0.0.1:{port}"
        proc = start(cmd, peer_url, log)
        try:
            for label, body in bodies.items():
                run_wrk(peer_url + "/v2/models/breast_cancer/infer", body, warmup)
                rps[(name, label)] = [run_wrk(peer_url + "/v2/models/breast_cancer/infer", body,
                                              args)["rps"]]
        finally:
            stop(proc)

    print(f"\nwrk -t{args.threads} -c{args.connections} -d{args.duration}s, loopback, "
          f"{os.cpu_count()} cores, demo model, V2 JSON; inferd medians of {args.compare_logs} "
          f"rounds, the settings side by side in each round; peers once\n")
    print("| request | system | requests/s | / logs off | rounds | inferd CPU µs/request |")
    print("|---|---|---:|---:|---|---:|")
    for label in bodies:
        off = median(rps[("logs off", label)])
        for setting in [*LOG_SETTINGS, *(["FastAPI", "MLServer"] if peers else [])]:
            values = rps[(setting, label)]
            cpu = cpu_per_request.get((setting, label))
            print(f"| {label} | {'inferd, ' + setting if setting in LOG_SETTINGS else setting} | "
                  f"{median(values):.0f} | {median(values) / off:.2f} | "
                  f"{', '.join(f'{v:.0f}' for v in values)} | "
                  f"{f'{1e6 * median(cpu):.1f}' if cpu else ''} |")
    print()
    for label in bodies:
        on = median(rps[("prediction log", label)])
        ratios = [a / b for a, b in zip(rps[("prediction log", label)], rps[("logs off", label)])]
        print(f"{label}: prediction log on / off per round "
              f"{', '.join(f'{r:.2f}' for r in ratios)} (median {median(ratios):.2f})" +
              (f"; inferd with the log on / FastAPI {on / rps[('FastAPI', label)][0]:.1f}x, "
               f"/ MLServer {on / rps[('MLServer', label)][0]:.1f}x" if peers else ""))
        cpu = sum(c for c, _ in writer[label])
        records = sum(n for _, n in writer[label])
        if records:
            print(f"{label}: prediction writer {1e6 * cpu / records:.2f} us of CPU per record "
                  f"({records:.0f} records)")
    for setting, (records, size, file_bytes) in stored.items():
        print(f"store after round 1 ({setting}): {records} records, {size / records:.0f} bytes "
              f"per record (predictions_size), SQLite file {file_bytes / records:.0f} bytes per "
              f"record (1 row and 64 rows mixed)")


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
    parser.add_argument("--no-peers", action="store_true",
                        help="with --compare-logs: inferd only")
    parser.add_argument("--compare-logs", type=int, default=0, metavar="ROUNDS",
                        help="rounds of inferd with the logs off and on side by side, then the "
                             "peers (see above)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: run scripts/install-deps.sh")
    if args.compare_logs:
        tmp = Path(tempfile.mkdtemp(prefix="inferd-bench-"))
        bodies = {"1 row": make_body(1, tmp / "1.json"), "64 rows": make_body(64, tmp / "64.json")}
        with open(tmp / "servers.log", "w") as log:
            compare_logs(args, tmp, bodies, log, peers=not args.no_peers)
        shutil.rmtree(tmp)
        return

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

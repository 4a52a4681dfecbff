#!/usr/bin/env python3
"""Load benchmark: inferd's gRPC against inferd's REST and Seldon MLServer's gRPC, in one run.

Serves tests/data/models/breast_cancer (100 trees, 30 features) from inferd and from MLServer
(/work/shared/peers/mlserver-xgboost, MLServer 1.7.1 + mlserver-xgboost, tuned as its docs
say) and drives one server at a time over loopback, 1 row and 64 rows a request:

- gRPC ModelInfer with the rows in raw_input_contents (what tritonclient.grpc sends), by
  ghz (.tools/bin/ghz, pinned in scripts/install-deps.sh) against inferd and MLServer, and by
  h2load (nghttp2, a C load generator that posts the same gRPC frames) against inferd. ghz
  spends far more CPU per request than the server it measures (about 100 us against inferd's
  ~27 us), so on two shared cores its figures measure ghz; h2load's measure the server.
- gRPC ModelStreamInfer (Triton's bidirectional stream, 1,000 requests a stream) by ghz
  against inferd; MLServer's stream RPC answers another message type, so it has no row.
- REST V2 JSON (and 64 rows with the binary tensor extension) by wrk, as bench/load.py.

For inferd it also reports the server's own CPU per request (utime + stime of the process
over the run, divided by the requests it counted in /metrics), which does not depend on the
load generator. Prints a Markdown table and the ratios; exits 1 if any request failed.

    bench/grpc_load.py [--duration 10] [--connections 16] [--log-sample-rate 0]
"""
import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load  # noqa: E402  (bench/load.py: wrk runs, bodies, start/stop)

ROOT = load.ROOT
MODEL_DIR = load.MODEL_DIR
PROTO = ROOT / "src" / "grpc" / "grpc_service.proto"
GHZ = ROOT / ".tools" / "bin" / "ghz"
MLSERVER = ROOT.parent / "shared" / "peers" / "mlserver-xgboost"
METHOD = "inference.GRPCInferenceService/ModelInfer"
BINARY = Path(os.environ.get("INFERD_BINARY", ROOT / "build" / "inferd"))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def rows(n):
    lines = (ROOT / "tests" / "data" / "breast_cancer.csv").read_text().splitlines()[1:]
    return [[float(v) for v in line.split(",")[:-1]] for line in lines[:n]]


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, wire_type, payload):
    """One protobuf field: tag, then a length-delimited payload or a varint."""
    tag = varint(number << 3 | wire_type)
    return tag + (varint(len(payload)) + payload if wire_type == 2 else varint(payload))


def infer_request(n, model="breast_cancer"):
    """ModelInferRequest (grpc_service.proto) with n rows as one FP32 raw_input_contents,
    serialized by hand so that the benchmark needs no protobuf package."""
    tensor = (field(1, 2, b"input__0") + field(2, 2, b"FP32") +
              field(3, 2, varint(n) + varint(30)))  # packed shape [n, 30]
    values = [v for row in rows(n) for v in row]
    raw = struct.pack(f"<{len(values)}f", *values)
    return field(1, 2, model.encode()) + field(5, 2, tensor) + field(7, 2, raw)


def inference_count(url):
    """inferd's inferd_inference_requests_total for the model (success and failure)."""
    text = urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()
    m = re.search(r'^inferd_inference_requests_total\{model="breast_cancer",version="1"\} (\S+)',
                  text, re.M)
    return float(m.group(1)) if m else 0.0


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def run_ghz(target, message, args, duration):
    out = subprocess.run(
        [str(GHZ), "--insecure", "--proto", str(PROTO), "--call", METHOD, "-B", str(message),
         "-c", str(args.connections), "--connections", "2", "-z", f"{duration}s",
         "--disable-template-functions", "--disable-template-data", "-O", "json", target],
        capture_output=True, text=True, check=True).stdout
    report = json.loads(out)
    ok = report.get("statusCodeDistribution", {}).get("OK", 0)
    # When its time is up ghz closes its connections under the calls still in flight (at
    # most -c of them): those end 'use of closed network connection' and are not errors.
    ok += sum(n for message, n in (report.get("errorDistribution") or {}).items()
              if any(own in message for own in ("use of closed network connection",
                                                "the client connection is closing")))
    lat = {d["percentage"]: d["latency"] / 1e6 for d in report.get("latencyDistribution") or []}
    return {"rps": report["rps"], "p50": lat.get(50, 0), "p99": lat.get(99, 0),
            "errors": report["count"] - ok, "requests": report["count"]}


def run_ghz_stream(target, message, args, duration, url):
    """ModelStreamInfer: each of ghz's calls is a stream of 1,000 requests. ghz counts
    streams, so the rate is the inferences inferd counted over the run."""
    before = inference_count(url)
    start = time.monotonic()
    out = subprocess.run(
        [str(GHZ), "--insecure", "--proto", str(PROTO), "--call",
         "inference.GRPCInferenceService/ModelStreamInfer", "-B", str(message),
         "-c", str(args.connections), "--connections", "2", "-z", f"{duration}s",
         "--stream-call-count", "1000", "--disable-template-functions",
         "--disable-template-data", "-O", "json", target],
        capture_output=True, text=True, check=True).stdout
    elapsed = time.monotonic() - start
    counted = inference_count(url) - before
    report = json.loads(out)
    bad = sum(n for message, n in (report.get("errorDistribution") or {}).items()
              if not any(own in message for own in ("use of closed network connection",
                                                    "the client connection is closing")))
    return {"rps": counted / elapsed, "p50": 0, "p99": 0, "errors": bad, "requests": counted,
            "no_latency": True}


def run_h2load(target, frame, args, duration):
    """h2load posts the gRPC frame over `connections` HTTP/2 connections, 8 streams each
    (16 calls in flight, as ghz and wrk); it cannot read grpc-status, so failures are
    counted from inferd's own metrics by the caller."""
    out = subprocess.run(
        ["h2load", "-D", str(duration), "-c", "2", "-m", str(max(1, args.connections // 2)),
         "-t", "1", "-d", str(frame), "-H", "content-type: application/grpc", "-H",
         "te: trailers", f"http://{target}/{METHOD}"],
        capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", out).group(1))
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", out)
    lat = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)", out)
    mean = load.to_ms(lat.group(3)) if lat else 0
    return {"rps": rps, "p50": mean, "p99": 0, "errors": int(done.group(1)) - int(done.group(2)),
            "requests": int(done.group(2)), "mean_only": True}


def measure(name, fn, server_pid=None, url=None):
    """Runs fn(); adds inferd's CPU per request when pid and url are given."""
    if server_pid is None:
        return fn()
    cpu0, count0 = cpu_seconds(server_pid), inference_count(url)
    result = fn()
    cpu1, count1 = cpu_seconds(server_pid), inference_count(url)
    counted = count1 - count0
    result["cpu_us"] = (cpu1 - cpu0) / counted * 1e6 if counted else 0
    if result.get("mean_only"):  # h2load: inferd's count is the truth
        result["errors"] = max(result["errors"], int(result["requests"] - counted))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16,
                        help="calls in flight (wrk connections, ghz/h2load concurrency)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--port", type=int, default=18401)
    parser.add_argument("--log-sample-rate", type=float, default=0.0)
    parser.add_argument("--access-log-sample-rate", type=float, default=0.0)
    args = parser.parse_args()
    for tool in ("wrk", "h2load"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: run scripts/install-deps.sh")
    if not GHZ.exists():
        sys.exit(f"{GHZ} is missing: run scripts/install-deps.sh")

    tmp = Path(tempfile.mkdtemp(prefix="inferd-grpc-bench-"))
    cores = os.cpu_count()
    sizes = {"1 row": 1, "64 rows": 64}
    messages, frames, bodies = {}, {}, {}
    for label, n in sizes.items():
        message = infer_request(n)
        messages[label] = tmp / f"{n}.bin"
        messages[label].write_bytes(message)
        frames[label] = tmp / f"{n}.grpc"
        frames[label].write_bytes(b"\0" + struct.pack(">I", len(message)) + message)
        bodies[label] = load.make_body(n, tmp / f"{n}.json")
    binary, binary_length = load.make_binary_body(64, tmp / "64.bin-rest")

    inferd_url = f"http://127.0.0.1:{args.port}"
    inferd_grpc = f"127.0.0.1:{args.port + 1}"
    peer_url = f"http://127.0.0.1:{args.port + 2}"
    peer_grpc = f"127.0.0.1:{args.port + 3}"
    inferd_cmd = [str(BINARY), "serve", "--host", "127.0.0.1",
                  "--port", str(args.port), "--grpc-port", str(args.port + 1),
                  "--model-repository", str(MODEL_DIR.parent), "--threads", str(cores),
                  "--store", f"sqlite:///{tmp}/store/inferd.db", "--spool-dir", str(tmp / "spool"),
                  "--log-sample-rate", str(args.log_sample_rate),
                  "--access-log-sample-rate", str(args.access_log_sample_rate)]
    peer_cmd = ["bash", str(MLSERVER / "run.sh"), str(MODEL_DIR / "1" / "model.json"),
                str(args.port + 2), "breast_cancer", str(args.port + 3)]
    results = {}
    infer_path = "/v2/models/breast_cancer/infer"
    with open(tmp / "servers.log", "w") as log:
        proc = load.start(inferd_cmd, inferd_url, log)
        try:
            pid = proc.pid
            for label in sizes:
                run_ghz(inferd_grpc, messages[label], args, 2)  # warm-up
                results[("inferd gRPC (ghz)", label)] = measure(
                    label, lambda: run_ghz(inferd_grpc, messages[label], args, args.duration),
                    pid, inferd_url)
                results[("inferd gRPC (h2load)", label)] = measure(
                    label, lambda: run_h2load(inferd_grpc, frames[label], args, args.duration),
                    pid, inferd_url)
                results[("inferd gRPC stream (ghz)", label)] = measure(
                    label, lambda: run_ghz_stream(inferd_grpc, messages[label], args,
                                                  args.duration, inferd_url), pid, inferd_url)
                load.run_wrk(inferd_url + infer_path, bodies[label],
                             argparse.Namespace(**{**vars(args), "duration": 2}))
                results[("inferd REST JSON (wrk)", label)] = measure(
                    label, lambda: load.run_wrk(inferd_url + infer_path, bodies[label], args),
                    pid, inferd_url)
            results[("inferd REST binary (wrk)", "64 rows")] = measure(
                "64 rows", lambda: load.run_wrk(inferd_url + infer_path, binary, args,
                                                header_length=binary_length), pid, inferd_url)
        finally:
            load.stop(proc)
        proc = load.start(peer_cmd, peer_url, log)
        try:
            for label in sizes:
                run_ghz(peer_grpc, messages[label], args, 2)
                results[("MLServer gRPC (ghz)", label)] = run_ghz(peer_grpc, messages[label], args,
                                                                  args.duration)
        finally:
            load.stop(proc)

    print(f"loopback, {cores} cores shared by server and load generator, breast_cancer "
          f"(100 trees, 30 features), {args.connections} calls in flight, {args.duration} s a "
          f"run; inferd --threads {cores}, prediction log sampling {args.log_sample_rate}, "
          f"access log sampling {args.access_log_sample_rate}\n")
    print("| request | system (load generator) | requests/s | p50 ms | p99 ms | inferd CPU/request "
          "| errors |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for (name, label), r in sorted(results.items(), key=lambda kv: kv[0][1]):
        p50 = "" if r.get("no_latency") else f"{r['p50']:.3f}" + (
            " (mean)" if r.get("mean_only") else "")
        p99 = "" if r.get("mean_only") or r.get("no_latency") else f"{r['p99']:.3f}"
        cpu = f"{r['cpu_us']:.1f} us" if "cpu_us" in r else ""
        print(f"| {label} | {name} | {r['rps']:.0f} | {p50} | {p99} | {cpu} | {r['errors']} |")
    print()
    for label in sizes:
        rest = results[("inferd REST JSON (wrk)", label)]
        h2 = results[("inferd gRPC (h2load)", label)]
        ghz = results[("inferd gRPC (ghz)", label)]
        peer = results[("MLServer gRPC (ghz)", label)]
        stream = results[("inferd gRPC stream (ghz)", label)]
        print(f"{label}: inferd gRPC/REST JSON throughput {h2['rps'] / rest['rps']:.2f} (h2load vs "
              f"wrk), CPU per request {h2['cpu_us'] / rest['cpu_us']:.2f}x REST's; inferd/MLServer "
              f"gRPC (both ghz) {ghz['rps'] / peer['rps']:.1f}x, (h2load vs ghz) "
              f"{h2['rps'] / peer['rps']:.1f}x; stream/REST JSON {stream['rps'] / rest['rps']:.2f}, "
              f"stream/MLServer unary {stream['rps'] / peer['rps']:.1f}x")
    binary_rest = results[("inferd REST binary (wrk)", "64 rows")]
    print(f"64 rows: inferd gRPC/REST binary tensors "
          f"{results[('inferd gRPC (h2load)', '64 rows')]['rps'] / binary_rest['rps']:.2f}")
    shutil.rmtree(tmp)
    sys.exit(1 if sum(r["errors"] for r in results.values()) else 0)


if __name__ == "__main__":
    main()

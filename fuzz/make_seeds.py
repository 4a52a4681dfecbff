#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (fuzz/README.md) from the tests' data into OUT/<target>/.

Seeds are small valid inputs of each format, so the fuzzer starts from the shapes real
clients send: the demo models and CSVs, request bodies in every form the API takes,
gRPC messages built with tritonclient's own protobufs, LightGBM models trained here and
ONNX exports of scikit-learn models. Deterministic: the same files every run.

    fuzz/make_seeds.py OUT
"""
import json
import struct
import sys
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
IRIS_ROW = [5.1, 3.5, 1.4, 0.2]


def write(out, target, name, content):
    folder = out / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode())


def csv_rows(name, n):
    lines = (DATA / f"{name}.csv").read_text().splitlines()
    return lines[0], lines[1:n + 1]


def v2_seeds(out):
    json_bodies = {
        "json": {"id": "a", "inputs": [{"name": "input__0", "shape": [2, 4], "datatype": "FP32",
                                        "data": IRIS_ROW * 2}]},
        "nested": {"inputs": [{"name": "input__0", "shape": [1, 4], "datatype": "FP64",
                               "data": [IRIS_ROW]}],
                   "outputs": [{"name": "output__0", "parameters": {"binary_data": False}}]},
        "params": {"inputs": [{"name": "input__0", "shape": [1, 4], "datatype": "FP32",
                               "data": IRIS_ROW}],
                   "parameters": {"output_kind": "margin", "iteration_range": [0, 2]},
                   "outputs": [{"name": "contributions"}, {"name": "leaves"}]},
    }
    for name, body in json_bodies.items():
        write(out, "fuzz_v2_request", name, b"\x00\x00\x00" + json.dumps(body).encode())
    header = json.dumps({"inputs": [{"name": "input__0", "shape": [1, 4], "datatype": "FP32",
                                     "parameters": {"binary_data_size": 16}}],
                         "outputs": [{"name": "output__0",
                                      "parameters": {"binary_data": True}}]}).encode()
    write(out, "fuzz_v2_request", "binary",
          b"\x01" + struct.pack(">H", len(header)) + header + struct.pack("<4f", *IRIS_ROW))


def v1_seeds(out):
    header, rows = csv_rows("breast_cancer", 2)
    names = header.split(",")[:-1]
    values = [[float(v) for v in row.split(",")[:-1]] for row in rows]
    write(out, "fuzz_v1_request", "arrays", b"\x00" + json.dumps({"instances": values}).encode())
    objects = [dict(zip(names, row)) for row in values]
    write(out, "fuzz_v1_request", "objects", b"\x01" + json.dumps({"instances": objects}).encode())
    write(out, "fuzz_v1_request", "partial",
          b"\x00" + json.dumps({"inputs": [{"mean_radius": 17.99, "mean_area": None}]}).encode())


def http_seeds(out):
    body = json.dumps({"inputs": [{"name": "input__0", "shape": [1, 4], "datatype": "FP32",
                                   "data": IRIS_ROW}]}).encode()
    requests = {
        "get": b"GET /v2/models/iris HTTP/1.1\r\nHost: x\r\n\r\n",
        "post": b"POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body),
        "chunked": b"POST /v1/models/iris:predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
                   b"\r\n\r\n10\r\n{\"instances\": [[\r\n13\r\n5.1, 3.5, 1.4, 0.2]]}\r\n0\r\n\r\n",
        "pipelined": b"GET /v2/health/ready HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"HEAD /v2 HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /v1/models?x=%20y HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "continue": b"POST /v2/models/iris/versions/1/infer HTTP/1.1\r\nHost: x\r\n"
                    b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body),
        "http10": b"GET /metrics HTTP/1.0\r\n\r\n",
        "repository": b"POST /v2/repository/index HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
    }
    for name, raw in requests.items():
        write(out, "fuzz_http", name, raw)


def grpc_seeds(out):
    from tritonclient.grpc import service_pb2 as pb
    typed = pb.ModelInferRequest(model_name="iris", id="t")
    tensor = typed.inputs.add(name="input__0", datatype="FP32", shape=[1, 4])
    tensor.contents.fp32_contents.extend(IRIS_ROW)
    typed.outputs.add(name="output__0")
    write(out, "fuzz_grpc_infer", "typed", typed.SerializeToString())
    raw = pb.ModelInferRequest(model_name="breast_cancer", model_version="1")
    raw.inputs.add(name="input__0", datatype="FP32", shape=[1, 30])
    raw.raw_input_contents.append(np.zeros(30, dtype="<f4").tobytes())
    raw.parameters["output_kind"].string_param = "margin"
    write(out, "fuzz_grpc_infer", "raw", raw.SerializeToString())
    fp64 = pb.ModelInferRequest(model_name="iris")
    t = fp64.inputs.add(name="input__0", datatype="FP64", shape=[2, 4])
    t.contents.fp64_contents.extend(IRIS_ROW * 2)
    write(out, "fuzz_grpc_infer", "fp64", fp64.SerializeToString())


def model_seeds(out):
    for config in sorted((DATA / "models").glob("*/config.json")):
        write(out, "fuzz_model_config", config.parent.name, config.read_bytes())
    write(out, "fuzz_model_config", "batching", json.dumps({
        "backend": "xgboost", "max_batch_size": 8, "runtime": "native",
        "input": [{"name": "x", "data_type": "TYPE_FP32", "dims": [4]}],
        "output": [{"name": "y", "data_type": "TYPE_FP32", "dims": [3]}],
        "dynamic_batching": {"max_queue_delay_microseconds": 100,
                             "preferred_batch_size": [4]}}))
    for model in sorted((DATA / "models").glob("*/1/model.*")):
        target = "fuzz_xgboost_ubj" if model.suffix == ".ubj" else "fuzz_xgboost_json"
        write(out, target, model.parent.parent.name, model.read_bytes())


def lightgbm_seeds(out):
    import lightgbm as lgb
    rng = np.random.default_rng(7)
    x = rng.normal(size=(200, 4))
    x[::7, 1] = np.nan
    x[:, 3] = rng.integers(0, 6, size=200)
    cases = {
        "binary": ({"objective": "binary"}, (x[:, 0] > 0).astype(int), {}),
        "multiclass": ({"objective": "multiclass", "num_class": 3},
                       rng.integers(0, 3, size=200), {}),
        "regression_categorical": ({"objective": "regression"}, x[:, 0] * 2,
                                   {"categorical_feature": [3]}),
        "random_forest": ({"objective": "regression", "boosting": "rf", "bagging_freq": 1,
                           "bagging_fraction": 0.5}, x[:, 2], {}),
    }
    for name, (params, y, extra) in cases.items():
        booster = lgb.train({**params, "num_leaves": 4, "verbose": -1, "seed": 1},
                            lgb.Dataset(x, y, **extra), num_boost_round=3)
        write(out, "fuzz_lightgbm", name, booster.model_to_string())


def onnx_seeds(out):
    from skl2onnx import to_onnx
    from sklearn.ensemble import (GradientBoostingClassifier, RandomForestClassifier,
                                  RandomForestRegressor)
    header, rows = csv_rows("iris", 150)
    data = np.array([[float(v) for v in row.split(",")] for row in rows], dtype=np.float32)
    x, y = data[:, :-1], data[:, -1].astype(int)
    models = {
        "rf_classifier": RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0),
        "gb_classifier": GradientBoostingClassifier(n_estimators=3, max_depth=2, random_state=0),
        "rf_regressor": RandomForestRegressor(n_estimators=2, max_depth=3, random_state=0),
    }
    for name, model in models.items():
        target = y if "classifier" in name else x[:, 0]
        model.fit(x, target)
        onx = to_onnx(model, x[:1], options={id(model): {"zipmap": False}}
                      if "classifier" in name else None, target_opset={"": 15, "ai.onnx.ml": 3})
        write(out, "fuzz_onnx", name, onx.SerializeToString())


def csv_seeds(out):
    for name in ("iris", "breast_cancer", "diabetes"):
        header, rows = csv_rows(name, 20)
        write(out, "fuzz_csv", name, "\n".join([header, *rows]) + "\n")
    write(out, "fuzz_csv", "quoted",
          'a,"b ""q""",c\n1,"x,y",NA\n2,,3.5e10\n-inf,"",nan\n')


def filter_seeds(out):
    # "filter\norder_by\npage_token", run through every search (fuzz_search_filter.cc).
    filters = ["name = 'breast_cancer'\nname DESC", "name LIKE 'breast%'", "name ILIKE '%CANCER_'",
               "tags.team = 'ml' AND name != 'x'\nversion_number",
               "tags.`stage` LIKE 'prod\\%%'\ncreation_timestamp ASC",
               "version_number = 12 AND run_id = \"abc123\"", "source_path LIKE '%run1'",
               "metrics.rmse < 0.5 AND params.max_depth = '4'\nmetrics.rmse DESC",
               "attributes.status IN ('RUNNING', 'FINISHED') AND tags.team IS NOT NULL\n"
               "attributes.start_time",
               "datasets.context = 'training' AND attributes.run_name LIKE 'r%'",
               "creation_time > 0 AND name != ''\nlast_update_time DESC\neyJvZmZzZXQiOiAxfQ==",
               "model_type = 'xgboost' AND params.eta = '0.3'\ncreation_timestamp"]
    for i, f in enumerate(filters):
        write(out, "fuzz_search_filter", f"f{i}", f)


SPOOL_HEADER = b"inferd prediction spool v3\n"  # monitor/prediction_log.h, kSpoolHeader


def spool_frame(rid, model, kind, version, rows, inputs, outputs):
    def string(text):
        return struct.pack("<I", len(text)) + text.encode()
    body = (string(rid) + string(model) + string(kind) +
            struct.pack("<qqqqQQ", version, 1764460800000, 350, rows, len(inputs), len(outputs)) +
            struct.pack(f"<{len(inputs)}f", *inputs) + struct.pack(f"<{len(outputs)}f", *outputs))
    return struct.pack("<II", len(body), zlib.crc32(body)) + body


def spool_seeds(out):
    one = spool_frame("0" * 32, "iris", "multiclass", 1, 1, IRIS_ROW, [0.9, 0.05, 0.05])
    two = spool_frame("1" * 32, "breast_cancer", "binary", 3, 2, [0.5] * 60, [0.2, 0.7])
    empty = spool_frame("2" * 32, "diabetes", "regression", 1, 0, [], [])
    write(out, "fuzz_prediction_spool", "frames", SPOOL_HEADER + one + two + empty)
    write(out, "fuzz_prediction_spool", "torn", SPOOL_HEADER + one + two[:-5])
    legacy = {"model": "iris", "version": 1, "time": 1764460800000, "latency_us": 350,
              "kind": "multiclass", "inputs": {"shape": [1, 4], "data": IRIS_ROW},
              "outputs": {"shape": [1, 3], "data": [0.9, 0.05, 0.05]}}
    write(out, "fuzz_prediction_spool", "json_lines",
          f"{'3' * 32}\t{json.dumps(legacy)}\n{'4' * 32}\t{{\"model\": \"iris\"}}\n")


def main():
    out = Path(sys.argv[1])
    for make in (v2_seeds, v1_seeds, http_seeds, grpc_seeds, model_seeds, lightgbm_seeds,
                 onnx_seeds, csv_seeds, filter_seeds, spool_seeds):
        make(out)


if __name__ == "__main__":
    main()

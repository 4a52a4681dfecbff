#!/usr/bin/env python3
"""The native engine on ONNX tree ensembles against onnxruntime, per call, 1 and 64 rows.

Trains scikit-learn models on the demo data (breast_cancer.csv), exports them with skl2onnx,
times onnxruntime's InferenceSession.run (one thread, the median of 7 rounds of timed loops;
this includes the Python binding's per-call cost, as a Python server pays it), then runs
build/engine_bench's onnx/native benchmark on the same file and rows.

    .venv/bin/python bench/onnx_bench.py [--binary build/engine_bench]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
from skl2onnx import to_onnx
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

ROOT = Path(__file__).resolve().parents[1]


def load():
    lines = (ROOT / "tests/data/breast_cancer.csv").read_text().splitlines()[1:]
    table = np.array([[float(v) for v in line.split(",")] for line in lines], dtype=np.float32)
    return table[:, :-1], table[:, -1].astype(int)


def time_onnxruntime(session, name, x, batch, rounds=7):
    medians = []
    for _ in range(rounds):
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < 0.3:
            offset = (calls * batch) % (len(x) - batch)
            session.run(None, {name: x[offset:offset + batch]})
            calls += 1
        medians.append((time.perf_counter() - start) / calls * 1e9)
    return statistics.median(medians)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=str(ROOT / "build/engine_bench"))
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    x, y = load()
    models = {
        "gradient_boosting_100_trees": GradientBoostingClassifier(n_estimators=100, max_depth=3,
                                                                  random_state=0),
        "random_forest_100_trees": RandomForestClassifier(n_estimators=100, max_depth=8,
                                                          random_state=0),
    }
    with tempfile.TemporaryDirectory() as tmp:
        rows = Path(tmp) / "rows.f32"
        x.tofile(rows)
        for label, model in models.items():
            model.fit(x, y)
            onnx = to_onnx(model, x[:1], options={id(model): {"zipmap": False}},
                           target_opset={"": 17, "ai.onnx.ml": 3})
            path = Path(tmp) / f"{label}.onnx"
            path.write_bytes(onnx.SerializeToString())
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            session = ort.InferenceSession(str(path), options,
                                           providers=["CPUExecutionProvider"])
            name = session.get_inputs()[0].name
            ours = subprocess.run(
                [args.binary, "--benchmark_filter=onnx/native", "--benchmark_min_time=1",
                 "--benchmark_format=json"],
                env={**os.environ, "INFERD_ONNX_MODEL": str(path), "INFERD_ONNX_ROWS": str(rows)},
                capture_output=True, text=True, check=True)
            native = {int(b["name"].rsplit("/", 1)[1]): b["cpu_time"]
                      for b in json.loads(ours.stdout)["benchmarks"]}
            for batch in (1, 64):
                theirs = time_onnxruntime(session, name, x, batch)
                print(f"{label:30s} {batch:3d} rows  onnxruntime {theirs:10.0f} ns  "
                      f"native {native[batch]:10.0f} ns  ratio {theirs / native[batch]:5.1f}x")


if __name__ == "__main__":
    main()

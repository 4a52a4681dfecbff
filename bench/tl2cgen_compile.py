#!/usr/bin/env python3
"""Compiles XGBoost models to shared libraries with tl2cgen, for engine_bench's comparison.

For each MODEL.json in DIR (engine_bench writes the demo model and its 500-tree one there),
builds four libraries with tl2cgen.export_lib and gcc -O3 (tl2cgen's own flags):
  MODEL.plain.so     tl2cgen's defaults
  MODEL.annotate.so  branches annotated with how often the demo data takes them
                     (tl2cgen.annotate_branch over tests/data/breast_cancer.csv: the rows
                     the benchmark predicts, so the annotation is as good as it gets)
  MODEL.quantize.so  thresholds quantized (integer compares after a per-call binary search)
  MODEL.both.so      annotated and quantized
A library is rebuilt only when its model file is newer, so a second run costs nothing.

    .venv/bin/python bench/tl2cgen_compile.py build/tl2cgen
"""
import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import tl2cgen
import treelite

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "plain": {},
    "annotate": {"annotate": True},
    "quantize": {"quantize": 1},
    "both": {"annotate": True, "quantize": 1},
}


def demo_rows():
    lines = (ROOT / "tests/data/breast_cancer.csv").read_text().splitlines()[1:]
    table = np.array([[float(v) for v in line.split(",")] for line in lines], dtype=np.float32)
    return table[:, :-1]


def build(model_path, rows):
    model = treelite.frontend.load_xgboost_model(str(model_path))
    with tempfile.TemporaryDirectory() as tmp:
        annotation = Path(tmp) / "annotation.json"
        for name, variant in VARIANTS.items():
            lib = model_path.with_suffix(f".{name}.so")
            if lib.exists() and lib.stat().st_mtime >= model_path.stat().st_mtime:
                continue
            params = {}
            if variant.get("annotate"):
                if not annotation.exists():
                    tl2cgen.annotate_branch(model, tl2cgen.DMatrix(rows), annotation, nthread=1)
                params["annotate_in"] = str(annotation)
            if "quantize" in variant:
                params["quantize"] = variant["quantize"]
            print(f"tl2cgen: compiling {lib.name}", file=sys.stderr, flush=True)
            partial = lib.with_suffix(".partial.so")
            tl2cgen.export_lib(model, toolchain="gcc", libpath=str(partial), params=params,
                               nthread=1)
            os.replace(partial, lib)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir", type=Path)
    args = parser.parse_args()
    rows = demo_rows()
    for model_path in sorted(args.dir.glob("*.json")):
        build(model_path, rows)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Regenerates the demo datasets and models in tests/data/ (committed; run by hand).

Uses Debian's python3-sklearn (the datasets ship inside it, no download) and
python3-xgboost. Writes:
  tests/data/breast_cancer.csv                 Wisconsin breast cancer, 569 rows, 30 features + target
  tests/data/iris.csv                          iris, 150 rows, 4 features + target (3 classes)
  tests/data/diabetes.csv                      diabetes, 442 rows, 10 features + target (regression)
  tests/data/models/breast_cancer/1/model.json binary:logistic, 100 trees, depth 6
  tests/data/models/breast_cancer/config.json  feature names
  tests/data/models/iris/1/model.ubj           multi:softprob (UBJSON)
  tests/data/models/diabetes/1/model.json      reg:squarederror
  tests/data/expected/<name>.txt               libxgboost's predictions for every CSV row
                                               (one row per line, classes space-separated)
"""
import json
import os

import numpy as np
import xgboost as xgb
from sklearn import datasets

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")


def snake(name):
    return name.strip().replace(" ", "_").replace("(", "").replace(")", "").lower()


def export(name, bunch, target="target"):
    features = [snake(f) for f in bunch.feature_names]
    path = os.path.join(HERE, f"{name}.csv")
    with open(path, "w") as out:
        out.write(",".join(features + [target]) + "\n")
        for row, y in zip(bunch.data, bunch.target):
            out.write(",".join(repr(float(v)) for v in row) + f",{y}\n")
    return features


def train(name, bunch, features, params, rounds, filename):
    dtrain = xgb.DMatrix(bunch.data.astype(np.float32), label=bunch.target, feature_names=features)
    booster = xgb.train({**params, "seed": 7, "nthread": 1}, dtrain, num_boost_round=rounds)
    folder = os.path.join(HERE, "models", name, "1")
    os.makedirs(folder, exist_ok=True)
    booster.save_model(os.path.join(folder, filename))
    predictions = booster.inplace_predict(bunch.data.astype(np.float32))
    os.makedirs(os.path.join(HERE, "expected"), exist_ok=True)
    with open(os.path.join(HERE, "expected", f"{name}.txt"), "w") as out:
        for row in predictions.reshape(len(bunch.data), -1):
            out.write(" ".join(repr(float(v)) for v in row) + "\n")


def main():
    cancer = datasets.load_breast_cancer()
    features = export("breast_cancer", cancer)
    train("breast_cancer", cancer, features,
          {"objective": "binary:logistic", "max_depth": 6, "eta": 0.1}, 100, "model.json")
    with open(os.path.join(HERE, "models", "breast_cancer", "config.json"), "w") as out:
        json.dump({"feature_names": features, "max_batch_size": 4096}, out, indent=2)
        out.write("\n")

    iris = datasets.load_iris()
    features = export("iris", iris)
    train("iris", iris, features,
          {"objective": "multi:softprob", "num_class": 3, "max_depth": 3}, 20, "model.ubj")

    diabetes = datasets.load_diabetes()
    features = export("diabetes", diabetes)
    train("diabetes", diabetes, features,
          {"objective": "reg:squarederror", "max_depth": 4}, 50, "model.json")


if __name__ == "__main__":
    main()

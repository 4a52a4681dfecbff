"""`inferd datasets` and `inferd train` from the command line, checked against hashlib/numpy."""
import hashlib
import shutil
import subprocess

import numpy as np

from conftest import BINARY, DATA


def run(store_uri, *args):
    return subprocess.run([str(BINARY), "--store", store_uri, *args], capture_output=True,
                          text=True, timeout=120)


def test_datasets_match_dvc_and_profile(store_uri, tmp_path):
    csv = tmp_path / "cancer.csv"
    shutil.copy(DATA / "breast_cancer.csv", csv)
    md5 = hashlib.md5(csv.read_bytes()).hexdigest()
    (tmp_path / "cancer.csv.dvc").write_text(
        f"outs:\n- md5: {md5}\n  size: {csv.stat().st_size}\n  hash: md5\n  path: cancer.csv\n")
    p = run(store_uri, "datasets", "add", "--dvc", str(tmp_path / "cancer.csv.dvc"))
    assert p.returncode == 0, p.stderr
    assert f"dataset cancer@1 md5 {md5}" in p.stdout and "569 rows, 31 columns" in p.stdout
    assert "cancer@1" in run(store_uri, "datasets", "add", str(csv)).stdout  # same bytes

    shown = run(store_uri, "datasets", "show", "cancer@1").stdout
    radius = np.loadtxt(csv, delimiter=",", skiprows=1, usecols=0)
    line = next(l for l in shown.splitlines() if l.strip().startswith("mean_radius"))
    assert f"median {np.median(radius):.4g}" in line

    with open(csv, "a") as f:
        f.write(",".join(["1"] * 31) + "\n")
    bad = run(store_uri, "datasets", "add", "--dvc", str(tmp_path / "cancer.csv.dvc"))
    assert bad.returncode == 1 and "does not match" in bad.stderr
    assert "cancer@2" in run(store_uri, "datasets", "add", str(csv)).stdout


def test_train_from_a_recorded_dataset_and_bad_data(store_uri, tmp_path):
    csv = tmp_path / "iris.csv"
    shutil.copy(DATA / "iris.csv", csv)
    assert run(store_uri, "datasets", "add", str(csv), "--name", "flowers").returncode == 0
    p = run(store_uri, "train", "--dataset", "flowers@1", "--target", "target",
            "--register", "iris", "--num-rounds", "5")
    assert p.returncode == 0, p.stderr
    assert "objective multi:softprob" in p.stdout and "holdout accuracy" in p.stdout
    shown = run(store_uri, "models", "show", "iris").stdout
    assert "dataset flowers@1" in shown and "param num_class=3" in shown

    csv.write_text(csv.read_text() + "5.0,abc,1.4,0.2,0\n")
    p = run(store_uri, "train", "--dataset", "flowers@1", "--target", "target", "--register", "x")
    assert p.returncode == 1 and "now has md5" in p.stderr  # the data changed under the record
    p = run(store_uri, "train", "--data", str(csv), "--target", "target", "--register", "x")
    assert p.returncode == 1
    assert "line 152, column 'sepal_width_cm': 'abc' is not a number" in p.stderr
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    p = run(store_uri, "train", "--data", str(empty), "--target", "y", "--register", "x")
    assert p.returncode == 1 and "is empty" in p.stderr

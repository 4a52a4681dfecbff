"""Runtime choice on the real server: tree models run on the native engine, models it
cannot evaluate exactly (here gblinear, trained with libxgboost through ctypes) fall back to
libxgboost with a log line saying why, and config.json's "runtime" forces either."""
import ctypes
import json
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import requests

from conftest import DATA, read_csv, read_expected

LIB = ctypes.CDLL("libxgboost.so.0")


def check(code):
    assert code == 0, LIB.XGBGetLastError().decode()


def train_gblinear(path):
    LIB.XGBGetLastError.restype = ctypes.c_char_p
    _, rows = read_csv("breast_cancer")
    lines = (DATA / "breast_cancer.csv").read_text().splitlines()[1:]
    labels = [float(line.rsplit(",", 1)[1]) for line in lines]
    x = np.asarray(rows, dtype=np.float32)
    y = np.asarray(labels, dtype=np.float32)
    dmatrix, booster = ctypes.c_void_p(), ctypes.c_void_p()
    check(LIB.XGDMatrixCreateFromMat(x.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                     ctypes.c_uint64(x.shape[0]), ctypes.c_uint64(x.shape[1]),
                                     ctypes.c_float(np.nan), ctypes.byref(dmatrix)))
    check(LIB.XGDMatrixSetFloatInfo(dmatrix, b"label",
                                    y.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                    ctypes.c_uint64(len(y))))
    check(LIB.XGBoosterCreate(ctypes.byref(dmatrix), ctypes.c_uint64(1), ctypes.byref(booster)))
    for key, value in [(b"booster", b"gblinear"), (b"objective", b"binary:logistic"),
                       (b"nthread", b"1")]:
        check(LIB.XGBoosterSetParam(booster, key, value))
    for i in range(10):
        check(LIB.XGBoosterUpdateOneIter(booster, i, dmatrix))
    path.parent.mkdir(parents=True)
    check(LIB.XGBoosterSaveModel(booster, str(path).encode()))
    LIB.XGBoosterFree(booster)
    LIB.XGDMatrixFree(dmatrix)


def infer(server, model, rows):
    reply = requests.post(f"{server.url}/v2/models/{model}/infer", json={
        "inputs": [{"name": "input__0", "shape": [len(rows), len(rows[0])], "datatype": "FP32",
                    "data": rows}]})
    assert reply.status_code == 200, reply.text
    return reply.json()["outputs"][0]["data"]


def test_gblinear_falls_back_to_libxgboost_and_the_log_says_why(start_server, model_repo):
    train_gblinear(model_repo / "linear" / "1" / "model.json")
    server = start_server()
    meta = requests.get(server.url + "/v2/models/linear").json()
    assert meta["parameters"]["runtime"] == "xgboost"
    assert requests.get(server.url + "/v2/models/breast_cancer").json()[
        "parameters"]["runtime"] == "native"
    _, rows = read_csv("breast_cancer")
    scores = infer(server, "linear", rows[:20])
    assert len(scores) == 20 and all(0 < s < 1 for s in scores)
    lines = [json.loads(line) for line in server.log if line.startswith("{")]
    fallback = [line for line in lines if "runs on libxgboost" in line.get("message", "")]
    assert len(fallback) == 1 and "gblinear" in fallback[0]["message"]
    assert fallback[0]["log.level"] == "warning"


def test_config_runtime_forces_libxgboost_with_the_same_answers(start_server, model_repo):
    config_path = model_repo / "breast_cancer" / "config.json"
    config = json.loads(config_path.read_text())
    config["runtime"] = "xgboost"
    config_path.write_text(json.dumps(config))
    server = start_server()
    meta = requests.get(server.url + "/v2/models/breast_cancer").json()
    assert meta["parameters"]["runtime"] == "xgboost"
    _, rows = read_csv("breast_cancer")
    expected = [row[0] for row in read_expected("breast_cancer")]
    got = np.asarray(infer(server, "breast_cancer", rows), dtype=np.float32)
    assert np.array_equal(got, np.asarray(expected, dtype=np.float32))


def test_config_runtime_native_refuses_a_model_it_cannot_run(start_server, model_repo):
    train_gblinear(model_repo / "linear" / "1" / "model.json")
    (model_repo / "linear" / "config.json").write_text('{"runtime": "native"}')
    with pytest.raises(RuntimeError, match="model 'linear' version 1: the native runtime "
                                           "cannot serve this model: booster gblinear"):
        start_server()


def test_dynamic_batching_answers_each_request_with_its_own_rows(start_server, model_repo):
    config_path = model_repo / "breast_cancer" / "config.json"
    config = json.loads(config_path.read_text())
    config["dynamic_batching"] = {"max_queue_delay_microseconds": 2000, "preferred_batch_size": 8}
    config_path.write_text(json.dumps(config))
    server = start_server("--threads", "8")
    _, rows = read_csv("breast_cancer")
    expected = np.asarray([row[0] for row in read_expected("breast_cancer")], dtype=np.float32)

    def one(i):
        return i, infer(server, "breast_cancer", [rows[i]])[0]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(200)))
    for i, value in answers:
        assert np.float32(value) == expected[i], i
    # Batches show as fewer model executions than requests (Triton's exec_count).
    metrics = requests.get(server.url + "/metrics").text

    def value(name):
        match = re.search(rf'^{name}{{[^}}]*model="breast_cancer"[^}}]*}} (\S+)$', metrics, re.M)
        assert match, name
        return float(match.group(1))

    requests_total = value("inferd_inference_requests_total")
    executions = value("inferd_inference_executions_total")
    assert requests_total == 200
    assert 0 < executions < requests_total

"""Triton's repository extension: index, load and unload, and reloads that drop nothing."""
import shutil
import threading

import requests


def test_index_lists_states(server, model_repo):
    (model_repo / "broken" / "1").mkdir(parents=True)
    (model_repo / "broken" / "1" / "model.json").write_text("{not xgboost")
    r = requests.post(server.url + "/v2/repository/models/broken/load")
    assert r.status_code == 400 and "model 'broken' version 1" in r.json()["error"]
    index = requests.post(server.url + "/v2/repository/index").json()
    assert {"name": "iris", "version": "1", "state": "READY"} in index
    broken = [e for e in index if e["name"] == "broken"][0]
    assert broken["state"] == "UNAVAILABLE" and "cannot load" in broken["reason"]
    ready = requests.post(server.url + "/v2/repository/index", json={"ready": True}).json()
    assert "broken" not in {e["name"] for e in ready}


def test_reload_under_load_drops_no_request(server, model_repo):
    body = {"inputs": [{"name": "input__0", "shape": [1, 4], "datatype": "FP32",
                        "data": [5.1, 3.5, 1.4, 0.2]}]}
    failures, versions, stop = [], set(), threading.Event()

    def hammer():
        with requests.Session() as s:
            while not stop.is_set():
                r = s.post(server.url + "/v2/models/iris/infer", json=body)
                if r.status_code != 200:
                    failures.append(r.text)
                else:
                    versions.add(r.json()["model_version"])

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for v in range(2, 8):
            shutil.copytree(model_repo / "iris" / "1", model_repo / "iris" / str(v))
            r = requests.post(server.url + "/v2/repository/models/iris/load")
            assert r.status_code == 200, r.text
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert failures == []
    assert "7" in versions
    meta = requests.get(server.url + "/v2/models/iris").json()
    assert meta["versions"] == [str(v) for v in range(1, 8)]


def test_unload_then_load(server):
    assert requests.post(server.url + "/v2/repository/models/iris/unload").status_code == 200
    r = requests.post(server.url + "/v1/models/iris:predict", json={"instances": [[1, 2, 3, 4]]})
    assert r.status_code == 404
    assert requests.post(server.url + "/v2/repository/models/iris/load").status_code == 200
    r = requests.post(server.url + "/v1/models/iris:predict", json={"instances": [[1, 2, 3, 4]]})
    assert r.status_code == 200

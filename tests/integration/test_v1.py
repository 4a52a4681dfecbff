"""KServe V1: model status and :predict with arrays and named objects."""
import numpy as np
import requests

from conftest import read_csv, read_expected


def test_model_list_and_status(server):
    assert requests.get(server.url + "/v1/models").json() == {
        "models": ["breast_cancer", "diabetes", "iris"]}
    assert requests.get(server.url + "/v1/models/iris").json() == {"name": "iris", "ready": True}
    r = requests.get(server.url + "/v1/models/nope")
    assert r.status_code == 404 and "unknown model" in r.json()["error"]


def test_predict_rows_as_arrays_and_objects_agree(server):
    names, rows = read_csv("breast_cancer")
    expected = np.float32(read_expected("breast_cancer")[:10]).ravel()
    arrays = requests.post(server.url + "/v1/models/breast_cancer:predict",
                           json={"instances": rows[:10]}).json()["predictions"]
    objects = requests.post(server.url + "/v1/models/breast_cancer:predict",
                            json={"instances": [dict(zip(names, r)) for r in rows[:10]]}).json()
    np.testing.assert_array_equal(np.float32(arrays), expected)
    np.testing.assert_array_equal(np.float32(objects["predictions"]), expected)


def test_multiclass_predictions_are_lists(server):
    _, rows = read_csv("iris")
    r = requests.post(server.url + "/v1/models/iris:predict", json={"instances": rows[:2]})
    np.testing.assert_array_equal(np.float32(r.json()["predictions"]),
                                  np.float32(read_expected("iris")[:2]))


def test_null_and_absent_features_are_missing(server):
    names, _ = read_csv("breast_cancer")
    nulls = {name: None for name in names}
    r1 = requests.post(server.url + "/v1/models/breast_cancer:predict",
                       json={"instances": [nulls, {}, [None] * 30]})
    assert r1.status_code == 200, r1.text
    p = r1.json()["predictions"]
    assert p[0] == p[1] == p[2]

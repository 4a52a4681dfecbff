"""LightGBM text models (model.txt) on the native engine, against the lightgbm wheel itself.

Every objective the engine supports is trained here with lightgbm on small synthetic data
(missing values, a categorical feature, zeros), saved as model.txt into a model repository,
and served. inferd's outputs must equal lightgbm's own predictions after the cast to float32,
bit for bit, over the training rows and thousands of rows made to hit the edges: NaN, zeros
and values within 1e-35 of zero, +-inf, unseen and out-of-range categories, and values equal
to (or one float away from) every split threshold. Requests use the binary tensor extension,
which carries NaN and infinities as they are."""
import json

import lightgbm as lgb
import numpy as np
import pytest
import requests

from conftest import InferdServer

FEATURES = 8
CATEGORICAL = 7  # codes 0..19 in training
ROWS_TRAIN = 1200
ROWS_EDGE = 3000

# name -> (params, rounds); every model also trains with a categorical feature unless said.
MODELS = {
    "binary": ({"objective": "binary"}, 30),
    "binary_sigmoid": ({"objective": "binary", "sigmoid": 0.7}, 20),
    "cross_entropy": ({"objective": "cross_entropy"}, 20),
    "regression": ({"objective": "regression"}, 30),
    "regression_sqrt": ({"objective": "regression", "reg_sqrt": True}, 20),
    "regression_l1": ({"objective": "regression_l1"}, 20),
    "huber": ({"objective": "huber"}, 20),
    "fair": ({"objective": "fair"}, 20),
    "quantile": ({"objective": "quantile", "alpha": 0.8}, 20),
    "mape": ({"objective": "mape"}, 20),
    "poisson": ({"objective": "poisson"}, 20),
    "gamma": ({"objective": "gamma"}, 20),
    "tweedie": ({"objective": "tweedie"}, 20),
    "multiclass": ({"objective": "multiclass", "num_class": 4}, 15),
    "multiclassova": ({"objective": "multiclassova", "num_class": 3}, 15),
    "zero_as_missing": ({"objective": "regression", "zero_as_missing": True}, 30),
    "no_missing": ({"objective": "binary", "use_missing": False}, 20),
    "random_forest": ({"objective": "binary", "boosting": "rf", "bagging_freq": 1,
                       "bagging_fraction": 0.7, "feature_fraction": 0.8}, 15),
    "dart": ({"objective": "regression", "boosting": "dart"}, 20),
    "many_categories": ({"objective": "binary", "max_cat_to_onehot": 2,
                         "cat_smooth": 1, "min_data_per_group": 5}, 30),
}


def synthetic(rows, seed):
    """Features with 10% NaN, zeros in feature 1, a categorical feature, and targets for
    each kind of objective (all from the same signal)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, FEATURES))
    x[:, 1] = np.where(rng.random(rows) < 0.3, 0.0, x[:, 1])
    x[:, CATEGORICAL] = rng.integers(0, 20, rows)
    signal = x[:, 0] + 0.5 * np.nan_to_num(x[:, 1]) - x[:, 2] * x[:, 3] + \
        np.where(x[:, CATEGORICAL] % 3 == 0, 1.0, -0.5)
    holes = rng.random((rows, FEATURES)) < 0.1
    holes[:, CATEGORICAL] = rng.random(rows) < 0.05
    x[holes] = np.nan
    return x.astype(np.float32), signal


def target(params, signal, rng):
    objective = params["objective"]
    noisy = signal + 0.3 * rng.normal(size=signal.shape)
    if objective in ("binary",):
        return (noisy > 0).astype(float)
    if objective == "cross_entropy":
        return 1 / (1 + np.exp(-noisy))
    if objective in ("multiclass", "multiclassova"):
        return np.digitize(noisy, np.quantile(noisy, np.linspace(0, 1, params["num_class"] + 1)[1:-1]))
    if objective in ("poisson", "tweedie"):
        return rng.poisson(np.exp(0.4 * signal)).astype(float)
    if objective in ("gamma", "mape"):
        return np.exp(0.3 * noisy) + 0.1
    if objective == "regression" and params.get("reg_sqrt"):
        return np.sign(noisy) * noisy * noisy
    return noisy


def train_all(folder):
    x, signal = synthetic(ROWS_TRAIN, seed=1)
    rng = np.random.default_rng(2)
    boosters = {}
    for name, (params, rounds) in MODELS.items():
        params = {**params, "verbose": -1, "num_threads": 1, "seed": 3, "num_leaves": 15,
                  "min_data_in_leaf": 10}
        data = lgb.Dataset(x, target(params, signal, rng), categorical_feature=[CATEGORICAL],
                           free_raw_data=False)
        booster = lgb.train(params, data, rounds)
        (folder / name / "1").mkdir(parents=True)
        booster.save_model(str(folder / name / "1" / "model.txt"))
        boosters[name] = booster
    return x, boosters


def thresholds(booster):
    """(feature, threshold) of every numerical split; categorical split sets."""
    numerical, categories = [], set()

    def walk(node):
        if "split_feature" not in node:
            return
        if node["decision_type"] == "==":
            categories.update(int(c) for c in str(node["threshold"]).split("||"))
        else:
            numerical.append((node["split_feature"], node["threshold"]))
        walk(node["left_child"])
        walk(node["right_child"])

    for tree in booster.dump_model()["tree_info"]:
        walk(tree["tree_structure"])
    return numerical, categories


def edge_rows(x, booster, seed):
    """Rows from the training data with values replaced by the edges the engine must get
    right as LightGBM does."""
    rng = np.random.default_rng(seed)
    numerical, categories = thresholds(booster)
    out = x[rng.integers(0, len(x), ROWS_EDGE)].copy()
    tiny = np.float32([0.0, -0.0, 1e-36, -1e-36, 1e-35, -1e-35, 1e-45, 2e-35, -2e-35])
    for r in range(ROWS_EDGE):
        for c in range(FEATURES):
            u = rng.random()
            if c == CATEGORICAL:
                if u < 0.1:
                    out[r, c] = np.nan
                elif u < 0.3:
                    out[r, c] = rng.choice(np.float32(
                        [20, 31, 32, 33, 64, 100, 1e9, 2147483648.0, 3e9, -1, -0.5, 0.5, 2.7,
                         np.inf, -np.inf, 1e-36, -0.0]))
                elif u < 0.4 and categories:
                    out[r, c] = rng.choice(sorted(categories))
            elif u < 0.15:
                out[r, c] = np.nan
            elif u < 0.2:
                out[r, c] = np.inf if rng.random() < 0.5 else -np.inf
            elif u < 0.3:
                out[r, c] = rng.choice(tiny)
            elif u < 0.65 and numerical:
                feature_splits = [t for f, t in numerical if f == c]
                if feature_splits:
                    t = np.float32(rng.choice(feature_splits))
                    step = rng.integers(-1, 2)
                    out[r, c] = np.nextafter(t, np.float32(step * np.inf)) if step else t
    return out


def infer_binary(url, model, rows, outputs=("output__0",), parameters=None):
    """One V2 request with the binary tensor extension (NaN and inf travel as they are);
    returns the outputs' arrays (one array when one output is asked for)."""
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    header = json.dumps({
        "inputs": [{"name": "input__0", "shape": list(rows.shape), "datatype": "FP32",
                    "parameters": {"binary_data_size": rows.nbytes}}],
        "outputs": [{"name": name, "parameters": {"binary_data": True}} for name in outputs],
        "parameters": parameters or {}}).encode()
    reply = requests.post(f"{url}/v2/models/{model}/infer", data=header + rows.tobytes(),
                          headers={"Inference-Header-Content-Length": str(len(header))})
    assert reply.status_code == 200, reply.text
    n = int(reply.headers["Inference-Header-Content-Length"])
    described = json.loads(reply.content[:n])["outputs"]
    arrays, offset = [], n
    for output in described:
        size = output["parameters"]["binary_data_size"]
        dtype = np.int32 if output["datatype"] == "INT32" else np.float32
        arrays.append(np.frombuffer(reply.content[offset:offset + size], dtype=dtype)
                      .reshape(output["shape"]))
        offset += size
    return arrays[0].ravel() if len(arrays) == 1 else arrays


@pytest.fixture(scope="module")
def lightgbm_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lightgbm")
    repo = folder / "models"
    x, boosters = train_all(repo)
    for name in ("binary", "multiclass", "random_forest", "regression_sqrt", "poisson"):
        margin = repo / f"{name}_margin"
        (margin / "1").mkdir(parents=True)
        (margin / "1" / "model.txt").write_bytes((repo / name / "1" / "model.txt").read_bytes())
        (margin / "config.json").write_text(json.dumps({"output_kind": "margin"}))
    server = InferdServer(["--host", "127.0.0.1", "--port", "0", "--model-repository", str(repo),
                           "--store", f"sqlite:///{folder}/inferd.db",
                           "--spool-dir", str(folder / "spool"), "--log-sample-rate", "0",
                           "--max-batch-size", "8192"])
    server.wait_ready()
    yield server, x, boosters, repo
    server.stop()


@pytest.mark.parametrize("name", list(MODELS))
def test_predictions_equal_lightgbm_after_the_float32_cast(lightgbm_server, name):
    server, x, boosters, _ = lightgbm_server
    booster = boosters[name]
    rows = np.concatenate([x, edge_rows(x, booster, seed=len(name))])
    want = np.float32(booster.predict(rows)).ravel()
    got = infer_binary(server.url, name, rows)
    differ = np.flatnonzero(want.view(np.uint32) != got.view(np.uint32))
    assert differ.size == 0, (
        f"{differ.size} of {want.size} differ; first rows "
        f"{sorted(set(differ // max(1, want.size // len(rows))))[:5]}: want {want[differ[:5]]}, "
        f"got {got[differ[:5]]}")
    # One row at a time takes the same path as a batch.
    width = want.size // len(rows)
    for r in range(0, len(rows), 397):
        np.testing.assert_array_equal(infer_binary(server.url, name, rows[r:r + 1]),
                                      want[r * width:(r + 1) * width])


@pytest.mark.parametrize("name", ["binary", "multiclass", "random_forest", "regression_sqrt",
                                  "poisson"])
def test_margins_equal_lightgbm_raw_scores(lightgbm_server, name):
    server, x, boosters, _ = lightgbm_server
    rows = np.concatenate([x, edge_rows(x, boosters[name], seed=5)])
    want = np.float32(boosters[name].predict(rows, raw_score=True)).ravel()
    np.testing.assert_array_equal(infer_binary(server.url, f"{name}_margin", rows), want)


def test_metadata_names_the_format_and_the_features(lightgbm_server):
    server, *_ = lightgbm_server
    meta = requests.get(server.url + "/v2/models/multiclass").json()
    assert meta["platform"] == "lightgbm"
    assert meta["parameters"]["runtime"] == "native"
    assert meta["parameters"]["objective"] == "multiclass"
    assert meta["inputs"][0]["shape"] == [-1, FEATURES]
    assert meta["outputs"][0]["shape"] == [-1, 4]


def test_unsupported_models_are_refused_naming_what(lightgbm_server):
    server, x, _, repo = lightgbm_server
    rng = np.random.default_rng(4)
    y = np.nan_to_num(x[:, 0]) + 0.1 * rng.normal(size=len(x))
    linear = lgb.train({"objective": "regression", "linear_tree": True, "verbose": -1,
                        "num_threads": 1}, lgb.Dataset(np.nan_to_num(x), y), 5)
    ranker = lgb.train({"objective": "lambdarank", "verbose": -1, "num_threads": 1},
                       lgb.Dataset(x, (y > 0).astype(int), group=[len(x) // 4] * 4), 3)
    for name, booster, what in [("linear", linear, "linear trees"),
                                ("ranker", ranker, "objective 'lambdarank'")]:
        (repo / name / "1").mkdir(parents=True)
        booster.save_model(str(repo / name / "1" / "model.txt"))
        r = requests.post(f"{server.url}/v2/repository/models/{name}/load")
        assert r.status_code >= 400 and what in r.json()["error"], r.text
    (repo / "truncated" / "1").mkdir(parents=True)
    text = (repo / "binary" / "1" / "model.txt").read_text()
    (repo / "truncated" / "1" / "model.txt").write_text(text[:len(text) // 2])
    r = requests.post(f"{server.url}/v2/repository/models/truncated/load")
    assert r.status_code == 400 and "malformed LightGBM model" in r.json()["error"], r.text


def test_the_models_cover_every_kind_of_split(lightgbm_server):
    """The parity above means something only if the trained models hold every split kind:
    missing type None / Zero / NaN (decision_type bits 2-3), both default directions,
    categorical bitsets, and a random forest's average_output."""
    _, _, _, repo = lightgbm_server
    kinds, averaged = set(), False
    for name in MODELS:
        text = (repo / name / "1" / "model.txt").read_text()
        averaged |= "\naverage_output\n" in text
        for line in text.splitlines():
            if line.startswith("decision_type="):
                for value in map(int, line.split("=")[1].split()):
                    categorical, left, missing = value & 1, bool(value & 2), (value >> 2) & 3
                    kinds.add("categorical" if categorical else (missing, left))
    assert {"categorical", (0, True), (1, True), (1, False), (2, True), (2, False)} <= kinds
    assert averaged


@pytest.mark.parametrize("name", ["binary", "multiclass", "random_forest", "zero_as_missing",
                                  "many_categories", "poisson", "dart"])
def test_contributions_and_leaves_equal_lightgbm(lightgbm_server, name):
    """TreeSHAP against LightGBM's pred_contrib (to 1e-5; LightGBM computes in double and so
    does the engine), leaf indices against pred_leaf, iteration ranges against
    start_iteration / num_iteration."""
    server, x, boosters, _ = lightgbm_server
    booster = boosters[name]
    rows = np.concatenate([x[:300], edge_rows(x, booster, seed=9)[:700]])
    contributions, leaves = infer_binary(server.url, name, rows, ("contributions", "leaves"))
    want = booster.predict(rows, pred_contrib=True)
    groups = booster.num_model_per_iteration()
    assert contributions.shape == ((len(rows), FEATURES + 1) if groups == 1
                                   else (len(rows), groups, FEATURES + 1))
    np.testing.assert_allclose(contributions.reshape(want.shape), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(leaves, booster.predict(rows, pred_leaf=True))
    iterations = booster.num_trees() // groups
    begin, end = 2, iterations - 3
    got = infer_binary(server.url, name, rows, parameters={"iteration_range": [begin, end]})
    want = np.float32(booster.predict(rows, start_iteration=begin, num_iteration=end - begin))
    np.testing.assert_array_equal(got, want.ravel())
    got = infer_binary(server.url, name, rows, parameters={"output_kind": "margin"})
    np.testing.assert_array_equal(got, np.float32(booster.predict(rows, raw_score=True)).ravel())


def test_base_margin_is_refused_for_lightgbm(lightgbm_server):
    server, x, _, _ = lightgbm_server
    r = requests.post(f"{server.url}/v2/models/binary/infer", json={
        "inputs": [{"name": "input__0", "shape": [1, FEATURES], "datatype": "FP32",
                    "data": [0.5] * FEATURES}], "parameters": {"base_margin": [0.1]}})
    assert r.status_code == 400 and "LightGBM model has none" in r.json()["error"]

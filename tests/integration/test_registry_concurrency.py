"""Registry writes from two servers sharing one store: concurrent MlflowClient writers
(new versions, model and version tags, alias moves) lose no update, on SQLite and on
the MongoDB wire (FerretDB, and a real MongoDB when INFERD_TEST_MONGODB_URI names one)."""
import os
import threading

import pytest

os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # a lost write must fail here
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from mlflow import MlflowClient  # noqa: E402
from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository  # noqa: E402

from conftest import DATA  # noqa: E402

IRIS = DATA / "models" / "iris" / "1" / "model.ubj"
MODEL = "shared"
THREADS_PER_SERVER = 4
ROUNDS = 6
ALIASES = ("champion", "challenger")


def test_two_servers_lose_no_concurrent_registry_write(shared_store, start_server):
    # Both serve the registry, so every change also reloads models on the server it reaches.
    servers = [start_server("--poll-interval-ms", "200", repo=False, store=shared_store)
               for _ in range(2)]
    # The tracking URI is given, not taken from mlflow's process-wide setting, which an
    # earlier test may have pointed at a server that is gone.
    MlflowArtifactsRepository("mlflow-artifacts:/models/shared/a",
                              tracking_uri=servers[0].url).log_artifact(str(IRIS))
    source = "mlflow-artifacts:/models/shared/a"
    setup = MlflowClient(tracking_uri=servers[0].url, registry_uri=servers[0].url)
    setup.create_registered_model(MODEL)
    assert setup.create_model_version(MODEL, source).version == "1"

    created = []        # version numbers handed to writers
    alias_moves = {alias: set() for alias in ALIASES}  # versions each alias was moved to
    tags = {}           # every tag some writer set (on the model and on version 1)
    errors = []
    lock = threading.Lock()
    start = threading.Barrier(2 * THREADS_PER_SERVER)

    def writer(server, worker):
        client = MlflowClient(tracking_uri=server.url, registry_uri=server.url)
        alias = ALIASES[worker % len(ALIASES)]
        start.wait()
        try:
            for i in range(ROUNDS):
                version = client.create_model_version(MODEL, source).version
                key, value = f"w{worker}-r{i}", f"{worker}.{i}"
                client.set_registered_model_tag(MODEL, key, value)
                client.set_model_version_tag(MODEL, "1", key, value)
                client.set_registered_model_alias(MODEL, alias, version)
                with lock:
                    created.append(int(version))
                    alias_moves[alias].add(version)
                    tags[key] = value
        except Exception as e:  # noqa: BLE001 - reported below with the server logs
            with lock:
                errors.append(f"writer {worker} via {server.url}: {e!r}")

    threads = [threading.Thread(target=writer, args=(servers[w % 2], w))
               for w in range(2 * THREADS_PER_SERVER)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "writers did not finish"
    assert not errors, "\n".join(errors) + "\n" + "".join(servers[0].log[-20:] + servers[1].log[-20:])

    writes = 2 * THREADS_PER_SERVER * ROUNDS
    assert sorted(created) == list(range(2, writes + 2))  # unique and contiguous
    for server in servers:  # both read the same, complete state
        client = MlflowClient(tracking_uri=server.url, registry_uri=server.url)
        model = client.get_registered_model(MODEL)
        assert model.tags == tags
        assert client.get_model_version(MODEL, "1").tags == tags
        versions = client.search_model_versions(f"name = '{MODEL}'", max_results=1000)
        assert sorted(int(v.version) for v in versions) == list(range(1, writes + 2))
        assert set(model.aliases) == set(ALIASES)
        for alias, version in model.aliases.items():
            assert version in alias_moves[alias], (alias, version, alias_moves[alias])
            assert client.get_model_version_by_alias(MODEL, alias).version == version

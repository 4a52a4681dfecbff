"""Start-up, configuration through the environment, docs, and SIGTERM draining."""
import json
import socket
import subprocess
import time

import pytest
import requests

from conftest import BINARY, InferdServer


def test_env_vars_configure_like_flags(model_repo, store_uri):
    server = InferdServer([], env={"INFERD_HOST": "127.0.0.1", "INFERD_PORT": "0",
                                  "INFERD_STORE": store_uri,
                                  "INFERD_MODEL_REPOSITORY": str(model_repo),
                                  "INFERD_MAX_BATCH_SIZE": "2"})
    try:
        server.wait_ready()
        rows = [[5.1, 3.5, 1.4, 0.2]] * 3
        r = requests.post(server.url + "/v1/models/iris:predict", json={"instances": rows})
        assert r.status_code == 400 and "limit of 2 rows" in r.json()["error"]
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize("args,words", [
    (["--model-repository", "/nonexistent"], "cannot read model repository"),
    (["--max-body-bytes", "0"], "--max-body-bytes"),
    (["--threads", "0"], "--threads"),
    (["--store", "mongodb://u:secret@127.0.0.1:1/x?serverSelectionTimeoutMS=200"],
     "MongoDB unreachable"),
    (["--store", "redis://x"], "must start with sqlite:/// or mongodb://"),
    (["--prediction-retention", "a week"], "is not a duration"),
    (["--prediction-max-bytes", "-1"], "--prediction-max-bytes"),
])
def test_bad_configuration_exits_non_zero_with_one_line(args, words, store_uri):
    store = [] if "--store" in args else ["--store", store_uri]
    p = subprocess.run([str(BINARY), "serve", "--port", "0", *store, *args],
                       capture_output=True,
                       text=True, timeout=20)
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert words in lines[0]
    assert "secret" not in p.stderr
    # inferd's own start-up errors are one line; flag-syntax errors add CLI11's usage hint.
    assert len(lines) == 1 or lines[1] == "Run with --help for more information.", p.stderr


def test_broken_model_at_startup_is_named(model_repo, store_uri):
    (model_repo / "iris" / "1" / "model.ubj").write_bytes(b"\x00\x01garbage")
    p = subprocess.run([str(BINARY), "serve", "--port", "0", "--store", store_uri,
                        "--model-repository", str(model_repo)],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 1
    assert "model 'iris' version 1" in p.stderr


def test_openapi_describes_every_route_and_docs_work_offline(server):
    spec = requests.get(server.url + "/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for path in ("/v2/health/live", "/v2/health/ready", "/v2", "/v2/models/{model}",
                 "/v2/models/{model}/versions/{version}", "/v2/models/{model}/ready",
                 "/v2/models/{model}/versions/{version}/ready", "/v2/models/{model}/infer",
                 "/v2/models/{model}/versions/{version}/infer", "/v2/repository/index",
                 "/v2/repository/models/{model}/load", "/v2/repository/models/{model}/unload",
                 "/v1/models", "/v1/models/{model}", "/v1/models/{model}:predict",
                 "/v1/feedback", "/v1/predictions", "/api/2.0/mlflow/registered-models/create",
                 "/api/2.0/mlflow/model-versions/search",
                 "/api/2.0/mlflow-artifacts/artifacts/{path}"):
        assert path in spec["paths"], path
    page = requests.get(server.url + "/docs")
    assert page.headers["Content-Type"].startswith("text/html")
    for asset in ("/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"):
        assert asset in page.text
        r = requests.get(server.url + asset)
        assert r.status_code == 200 and len(r.content) > 10_000


def test_sigterm_finishes_in_flight_requests_then_exits_zero(start_server):
    server = start_server("--shutdown-grace-ms", "5000")
    body = json.dumps({"inputs": [{"name": "input__0", "shape": [1, 4], "datatype": "FP32",
                                   "data": [5.1, 3.5, 1.4, 0.2]}]}).encode()
    idle = socket.create_connection(("127.0.0.1", server.port))
    busy = socket.create_connection(("127.0.0.1", server.port))
    busy.sendall(b"POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Type: "
                 b"application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:10])
    time.sleep(0.2)  # the headers are in: the request is in flight
    server.proc.send_signal(15)
    time.sleep(0.3)
    # Idle keep-alive connections are closed; new connections are refused.
    idle.settimeout(5)
    assert idle.recv(100) == b""
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2)
    assert server.proc.poll() is None  # still draining the busy connection
    busy.sendall(body[10:])
    busy.settimeout(5)
    reply = b""
    while chunk := busy.recv(65536):
        reply += chunk
    assert reply.startswith(b"HTTP/1.1 200 OK")
    assert b"Connection: close" in reply
    assert server.stop() == 0
    assert any("draining" in line for line in server.log)


def test_sigterm_grace_bounds_the_wait(start_server):
    server = start_server("--shutdown-grace-ms", "300", "--read-timeout-ms", "60000")
    stuck = socket.create_connection(("127.0.0.1", server.port))
    stuck.sendall(b"POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
    time.sleep(0.2)
    start = time.monotonic()
    assert server.stop() == 0
    assert time.monotonic() - start < 3
    stuck.close()

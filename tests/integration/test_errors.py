"""Bad input and limits: every error has the V2 shape and the server keeps serving."""
import json
import socket
import time

import pytest
import requests

GOOD = {"inputs": [{"name": "input__0", "shape": [1, 4], "datatype": "FP32",
                    "data": [5.1, 3.5, 1.4, 0.2]}]}


def still_serves(server):
    r = requests.post(server.url + "/v2/models/iris/infer", json=GOOD, timeout=5)
    assert r.status_code == 200, r.text


def inp(shape, data, datatype="FP32", name="input__0"):
    return {"inputs": [{"name": name, "shape": shape, "datatype": datatype, "data": data}]}


# (method, path, body (bytes, or an object sent as JSON), status, words the error must hold)
CASES = [
    ("POST", "/v2/models/iris/infer", b"", 400, "invalid JSON"),
    ("POST", "/v2/models/iris/infer", b"{\"inputs\": [", 400, "invalid JSON"),
    ("POST", "/v2/models/iris/infer", b"\xff\xfe\x00garbage", 400, "invalid JSON"),
    ("POST", "/v2/models/iris/infer", [1, 2], 400, "must be a JSON object"),
    ("POST", "/v2/models/iris/infer", {}, 400, "no \"inputs\""),
    ("POST", "/v2/models/iris/infer", inp([1, 3], [1, 2, 3]), 400, "must be [rows, 4]"),
    ("POST", "/v2/models/iris/infer", inp([1, 4, 1], [1, 2, 3, 4]), 400, "must be [rows, 4]"),
    ("POST", "/v2/models/iris/infer", inp([2, 4], [1, 2, 3, 4]), 400, "needs 8 values, data has 4"),
    ("POST", "/v2/models/iris/infer", inp([1, 4], [1, 2, "x", 4]), 400, "non-numeric value at element 2"),
    ("POST", "/v2/models/iris/infer", inp([1, 4], [1, 2, True, 4]), 400, "non-numeric"),
    ("POST", "/v2/models/iris/infer", inp([1, 4], [1, 2, 3, 4], "BYTES"), 400, "'BYTES' is not supported"),
    ("POST", "/v2/models/iris/infer", inp([1, 4], [1, 2, 3, 4], name="x"), 400, "unknown input 'x'"),
    ("POST", "/v2/models/iris/infer", inp([5000, 4], [0.0] * 20000), 400, "exceeds model 'iris' limit of 4096 rows"),
    ("POST", "/v2/models/nope/infer", GOOD, 404, "unknown model 'nope'"),
    ("POST", "/v2/models/iris/versions/7/infer", GOOD, 404, "has no version 7"),
    ("POST", "/v2/models/iris/versions/x/infer", GOOD, 400, "not a positive integer"),
    ("GET", "/v2/models/iris/infer", None, 405, "method GET is not allowed"),
    ("DELETE", "/v2/health/ready", None, 405, "not allowed"),
    ("GET", "/v3/anything", None, 404, "no route for GET /v3/anything"),
    ("POST", "/v1/models/iris:predict", {"instances": [[1, 2]]}, 400, "instance 0 has 2 values"),
    ("POST", "/v1/models/iris:predict", {"rows": []}, 400, "no \"instances\""),
    ("POST", "/v1/models/iris:predict", {"instances": [{"a": 1}]}, 400, "instance 0 has unknown feature 'a'"),
    ("POST", "/v1/models/nope:predict", {"instances": [[1]]}, 404, "unknown model"),
    ("POST", "/v2/repository/models/nope/load", None, 404, "has no folder"),
    ("POST", "/v2/repository/models/..%2Fetc/load", None, 400, "invalid model name"),
    ("POST", "/v2/repository/models/nope/unload", None, 404, "is not loaded"),
]


@pytest.mark.parametrize("method,path,body,status,words", CASES,
                         ids=[f"{c[3]}-{c[4][:30]}" for c in CASES])
def test_bad_request_table(server, method, path, body, status, words):
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    r = requests.request(method, server.url + path, data=data, timeout=5,
                         headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert set(r.json()) == {"error"}
    assert words in r.json()["error"], r.json()
    if status == 405:
        assert r.headers["Allow"]
    still_serves(server)


def raw(server, payload, read_timeout=5):
    """Sends raw bytes on a new connection; returns everything read until close."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=read_timeout) as s:
        s.sendall(payload)
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, socket.timeout):
            pass
        return b"".join(chunks)


def status_and_error(reply):
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)["error"]


def test_garbage_bytes_get_400_and_close(server):
    status, error = status_and_error(raw(server, b"\x16\x03\x01\x02\x00garbage\r\n\r\n"))
    assert status == 400 and "malformed HTTP request" in error
    still_serves(server)


def test_truncated_request_is_dropped_without_harm(server):
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        s.sendall(b"POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"in")
    still_serves(server)


def test_oversized_headers_get_431(start_server):
    server = start_server("--max-header-bytes", "2048")
    status, error = status_and_error(
        raw(server, b"GET /v2 HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 4096 + b"\r\n\r\n"))
    assert status == 431 and "--max-header-bytes" in error
    still_serves(server)


def test_long_target_gets_414(start_server):
    server = start_server("--max-target-bytes", "1024")
    status, error = status_and_error(
        raw(server, b"GET /v2/models/" + b"m" * 600 + b"?q=" + b"a" * 600 + b" HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert status == 414 and "exceeds 1024 bytes (--max-target-bytes)" in error
    # Just under the limit, the request reaches the router (an unknown model: 404).
    status, _ = status_and_error(
        raw(server, b"GET /v2/models/" + b"m" * 900 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert status == 404
    still_serves(server)


def test_body_over_limit_is_refused_from_the_header(start_server):
    server = start_server("--max-body-bytes", "1000")
    # Only the header is sent: the 413 must come without the body ever arriving.
    status, error = status_and_error(raw(
        server, b"POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n"))
    assert status == 413 and "exceeds the limit of 1000 bytes" in error
    # A client that does send the whole body still reads the 413.
    r = requests.post(server.url + "/v2/models/iris/infer", data=b"x" * 200_000)
    assert r.status_code == 413 and "--max-body-bytes" in r.json()["error"]
    # Chunked bodies have no length up front: the limit applies as they arrive.
    r = requests.post(server.url + "/v2/models/iris/infer", data=iter([b"x" * 800, b"y" * 800]))
    assert r.status_code == 413
    still_serves(server)


def test_silent_client_is_closed_after_idle_timeout(start_server):
    server = start_server("--idle-timeout-ms", "300")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"GET /v2 HTTP/1.1\r\nHo")  # a slow-loris header, never finished
        start = time.monotonic()
        assert s.recv(100) == b""  # closed by the server
        assert time.monotonic() - start < 3
    still_serves(server)


def test_slow_body_is_cut_off_after_read_timeout(start_server):
    server = start_server("--read-timeout-ms", "300")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        start = time.monotonic()
        assert s.recv(100) == b""  # closed by the server, no worker held
        assert time.monotonic() - start < 3
    still_serves(server)


def test_connection_limit_answers_503(start_server):
    server = start_server("--max-connections", "2")
    held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(2)]
    try:
        time.sleep(0.2)
        status, error = status_and_error(raw(server, b"GET /v2 HTTP/1.1\r\nHost: x\r\n\r\n"))
        assert status == 503 and "--max-connections" in error
    finally:
        for s in held:
            s.close()
    time.sleep(0.2)
    still_serves(server)


def test_compressed_bodies_are_refused_clearly(server):
    r = requests.post(server.url + "/v2/models/iris/infer", data=b"\x1f\x8b",
                      headers={"Content-Encoding": "gzip"})
    assert r.status_code == 400 and "Content-Encoding 'gzip'" in r.json()["error"]

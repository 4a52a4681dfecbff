"""The HTTP/1.1 transport on raw sockets: framing, keep-alive, pipelining, partial
writes, interim replies. Errors and limits are in test_errors.py, draining in
test_lifecycle.py."""
import json
import socket
import time

import requests

BODY = json.dumps({"inputs": [{"name": "input__0", "shape": [1, 4], "datatype": "FP32",
                               "data": [5.1, 3.5, 1.4, 0.2]}]}).encode()


def post(body=BODY, extra=b"", version=b"1.1"):
    return (b"POST /v2/models/iris/infer HTTP/" + version + b"\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body) + extra +
            b"\r\n" + body)


class Reader:
    """Reads HTTP/1.1 responses (Content-Length framed) off a socket."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def response(self, head_only=False):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:])}
        length = 0 if head_only else int(headers.get("content-length", 0))
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return int(lines[0].split()[1]), headers, body

    def closed(self):
        try:
            return self.buf == b"" and self.sock.recv(1) == b""
        except ConnectionResetError:
            return True


def connect(server):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    return s, Reader(s)


def test_pipelined_requests_are_answered_in_order(server):
    s, reader = connect(server)
    with s:
        # Ten requests in one write, the last asking to close.
        s.sendall(post() * 9 + post(extra=b"Connection: close\r\n"))
        for i in range(10):
            status, headers, body = reader.response()
            assert status == 200, body
            assert json.loads(body)["model_name"] == "iris"
            assert ("connection" in headers) == (i == 9)
        assert reader.closed()


def test_large_body_then_small_requests_on_one_connection(start_server):
    server = start_server("--max-batch-size", "100000")
    rows = 60_000  # ~1.2 MB of JSON: the read buffer grows for it, then shrinks back
    data = [5.1, 3.5, 1.4, 0.2] * rows
    big = json.dumps({"inputs": [{"name": "input__0", "shape": [rows, 4], "datatype": "FP32",
                                  "data": data}]}).encode()
    assert len(big) > 1 << 20
    s, reader = connect(server)
    with s:
        s.sendall(post(big))
        status, _, body = reader.response()
        assert status == 200, body[:200]
        assert json.loads(body)["outputs"][0]["shape"][0] == rows
        for _ in range(3):
            s.sendall(post())
            assert reader.response()[0] == 200


def test_a_reply_larger_than_the_socket_buffers_reaches_a_slow_reader(start_server):
    server = start_server("--max-batch-size", "300000")
    rows = 250_000  # ~9 MB of probabilities: more than loopback's 4 MB send buffer can take
    big = json.dumps({"inputs": [{"name": "input__0", "shape": [rows, 4], "datatype": "FP32",
                                  "data": [5.1, 3.5, 1.4, 0.2] * rows}]}).encode()
    # A small receive window (set before connecting) keeps the server's writes partial.
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
    s.settimeout(10)
    s.connect(("127.0.0.1", server.port))
    reader = Reader(s)
    with s:
        s.sendall(post(big))
        time.sleep(0.5)  # the server fills the socket and waits for it to drain
        # Sent while the big reply is still being written: answered after it.
        s.sendall(post())
        status, headers, body = reader.response()
        assert status == 200 and int(headers["content-length"]) > 5_000_000
        assert len(json.loads(body)["outputs"][0]["data"]) == 3 * rows
        status, _, body = reader.response()
        assert status == 200 and len(json.loads(body)["outputs"][0]["data"]) == 3


def test_expect_100_continue_gets_the_interim_reply_first(server):
    s, reader = connect(server)
    with s:
        s.sendall(post(b"", extra=b"Expect: 100-continue\r\n").replace(
            b"Content-Length: 0", b"Content-Length: %d" % len(BODY)))
        assert reader.response(head_only=True)[0] == 100
        s.sendall(BODY)
        status, _, body = reader.response()
        assert status == 200, body


def test_http10_gets_no_interim_reply(server):
    s, reader = connect(server)
    with s:
        s.sendall(post(b"", version=b"1.0", extra=b"Expect: 100-continue\r\n").replace(
            b"Content-Length: 0", b"Content-Length: %d" % len(BODY)))
        time.sleep(0.2)
        s.sendall(BODY)
        status, _, body = reader.response()
        assert status == 200, body  # the first thing sent back is the reply itself


def test_endless_chunk_header_is_cut_off(start_server):
    server = start_server("--max-header-bytes", "2048")
    s, reader = connect(server)
    with s:
        s.sendall(b"POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n5;" + b"x" * 8192)
        status, _, body = reader.response()
        assert status == 400 and "--max-header-bytes" in json.loads(body)["error"]


def test_http10_keeps_the_connection_only_when_asked(server):
    s, reader = connect(server)
    with s:
        s.sendall(post(version=b"1.0", extra=b"Connection: keep-alive\r\n"))
        status, headers, _ = reader.response()
        assert status == 200 and headers["connection"] == "keep-alive"
        s.sendall(post(version=b"1.0"))
        status, headers, _ = reader.response()
        assert status == 200 and headers["connection"] == "close"
        assert reader.closed()


def test_head_gets_the_length_without_a_body(server):
    s, reader = connect(server)
    with s:
        s.sendall(b"HEAD /v2/health/ready HTTP/1.1\r\nHost: x\r\n\r\n")
        while b"\r\n\r\n" not in reader.buf:
            reader._fill()
        assert reader.buf.lower().count(b"content-length:") == 1
        status, headers, _ = reader.response(head_only=True)
        assert int(headers["content-length"]) > 0
        # Nothing else was sent: the next reply starts right after the head.
        s.sendall(post())
        status, _, body = reader.response()
        assert status == 200, body


def test_a_client_that_half_closes_after_its_request_gets_the_reply(server):
    s, reader = connect(server)
    with s:
        s.sendall(post())
        s.shutdown(socket.SHUT_WR)
        assert reader.response()[0] == 200
        assert reader.closed()


def test_many_connections_at_once(server):
    """More connections than event loops, each doing a few keep-alive requests."""
    socks = [connect(server) for _ in range(50)]
    try:
        for _ in range(3):
            for s, _ in socks:
                s.sendall(post())
            for _, reader in socks:
                assert reader.response()[0] == 200
    finally:
        for s, _ in socks:
            s.close()
    time.sleep(0.2)
    assert requests.get(server.url + "/v2/health/ready", timeout=5).status_code == 200

"""Fixtures that run the real inferd binary on a free loopback port."""
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
BINARY = Path(os.environ.get("INFERD_BINARY", ROOT / "build" / "inferd"))
LISTENING = re.compile(r"listening on [^ ]+:(\d+)")
GRPC_LISTENING = re.compile(r"gRPC on [^ ]+:(\d+)")
# Servers started by tests pick a free gRPC port (the log line above names it) unless a test
# says otherwise: the default 9001 would collide between tests and between parallel runs.
os.environ.setdefault("INFERD_GRPC_PORT", "0")
# libmongoc (loaded by every inferd process) keeps profiling counters in /dev/shm/mongoc-<pid>;
# a process these tests SIGKILL leaves its file behind, and a later process given the same pid
# prints "Falling back to malloc for counters" to stderr from the library's own start-up,
# before inferd's log handler exists. The tests kill hundreds of servers: no counters.
os.environ.setdefault("MONGOC_DISABLE_SHM", "1")
# A real MongoDB to run the store tests against as well (CI's mongo:7 service), e.g.
# mongodb://root:pw@localhost:27017/?authSource=admin; FerretDB is always used.
EXTERNAL_MONGODB_URI = os.environ.get("INFERD_TEST_MONGODB_URI", "")


def with_database(uri, database):
    """`uri` with its database path replaced by `database`, options kept."""
    scheme, rest = uri.split("://", 1)
    rest, _, options = rest.partition("?")
    hosts = rest.split("/", 1)[0]
    return f"{scheme}://{hosts}/{database}" + (f"?{options}" if options else "")


class InferdServer:
    """A running `inferd serve`; its stdout/stderr are collected in `log`."""

    def __init__(self, args, env=None, startup_timeout=20, command_prefix=(), cwd=None):
        self.log = []
        self._port_found = threading.Event()
        self.port = None
        self.grpc_port = None  # None when gRPC is off
        self.proc = subprocess.Popen(
            [*command_prefix, str(BINARY), "serve", *args], cwd=cwd,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, **(env or {})})
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._port_found.wait(startup_timeout) or self.port is None:
            self.stop()
            raise RuntimeError("inferd did not start:\n" + "".join(self.log))

    def _read(self):
        for line in self.proc.stdout:
            self.log.append(line)
            g = GRPC_LISTENING.search(line)
            if g and self.grpc_port is None:
                self.grpc_port = int(g.group(1))
            m = LISTENING.search(line)
            if m and not self._port_found.is_set():
                self.port = int(m.group(1))
                self._port_found.set()
        self._port_found.set()  # exited: stop waiting

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/v2/health/ready", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        raise RuntimeError("inferd not ready:\n" + "".join(self.log))

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Sends `sig`, waits, and returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._reader.join(5)
        return code


@pytest.fixture
def model_repo(tmp_path):
    """A private copy of the demo model repository."""
    repo = tmp_path / "models"
    shutil.copytree(DATA / "models", repo)
    return repo


@pytest.fixture
def store_uri(tmp_path):
    """A fresh SQLite store for one test."""
    return f"sqlite:///{tmp_path}/store/inferd.db"


@pytest.fixture
def start_server(model_repo, store_uri, tmp_path):
    """Starts inferd with extra flags; every server is stopped after the test.

    By default it serves the model folder `repo` (the demo copy); pass
    repo=False to serve the registry in the store instead."""
    servers = []

    def start(*args, env=None, repo=None, store=None):
        source = [] if repo is False else ["--model-repository", str(repo or model_repo)]
        spool = [] if "--spool-dir" in args else ["--spool-dir", str(tmp_path / "spool")]
        server = InferdServer(["--host", "127.0.0.1", "--port", "0", "--store", store or store_uri,
                               *spool, *source, *args], env=env)
        servers.append(server)
        server.wait_ready()
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def server(start_server):
    return start_server()


def wait_for(check, timeout=20):
    """True once `check()` is, polling; False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def read_csv(name):
    """(feature names, rows of floats without the target) of a demo CSV."""
    lines = (DATA / f"{name}.csv").read_text().splitlines()
    header = lines[0].split(",")[:-1]
    rows = [[float(v) for v in line.split(",")[:-1]] for line in lines[1:]]
    return header, rows


def read_expected(name):
    """libxgboost's predictions for every row of a demo CSV (lists per row)."""
    return [[float(v) for v in line.split()]
            for line in (DATA / "expected" / f"{name}.txt").read_text().splitlines()]


class FerretDb:
    """A real MongoDB-wire server (FerretDB on SQLite) on a free loopback port.
    stop() and start() keep the port and the data, to simulate an outage."""

    BINARY = ROOT / "build" / "tools" / "ferretdb"

    def __init__(self, data_dir):
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.data_dir = data_dir
        self.proc = None

    def uri(self, database="inferd"):
        return f"mongodb://127.0.0.1:{self.port}/{database}"

    def start(self):
        import socket
        self.proc = subprocess.Popen(
            [str(self.BINARY), "-listen-addr", f"127.0.0.1:{self.port}",
             "-sqlite-dir", str(self.data_dir), "-log-level", "error"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("FerretDB did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


@pytest.fixture(params=["sqlite", "ferretdb"] + (["mongodb"] if EXTERNAL_MONGODB_URI else []))
def shared_store(request, store_uri):
    """A fresh store of each backend in turn: SQLite, FerretDB, and a real MongoDB when
    INFERD_TEST_MONGODB_URI names one (a database of its own)."""
    if request.param == "sqlite":
        return store_uri
    if request.param == "mongodb":
        return with_database(EXTERNAL_MONGODB_URI, f"inferd_test_{uuid.uuid4().hex}")
    return request.getfixturevalue("ferretdb").uri()


@pytest.fixture
def ferretdb(tmp_path):
    if not FerretDb.BINARY.exists():
        pytest.fail(f"{FerretDb.BINARY} is missing: run scripts/build-ferretdb.sh")
    db = FerretDb(tmp_path / "ferretdb")
    db.start()
    yield db
    db.stop()

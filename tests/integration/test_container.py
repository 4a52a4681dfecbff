"""What the container image and the Kubernetes pod rely on, checked on the real binary:
`inferd healthcheck` (the image's HEALTHCHECK; the runtime image has no curl) and serving
as an unprivileged user whose only writable places are TMPDIR and the spool folder, as
under the pod's readOnlyRootFilesystem with emptyDir volumes."""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from pathlib import Path

import requests

from conftest import BINARY, DATA, InferdServer, read_csv


def healthcheck(port, *args):
    return subprocess.run([str(BINARY), "healthcheck", "--port", str(port), *args],
                          capture_output=True, text=True, timeout=30)


def test_healthcheck_passes_on_a_ready_server(server):
    done = healthcheck(server.port)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_healthcheck_fails_with_the_reason(server):
    done = healthcheck(server.port, "--path", "/v2/models/absent/ready")
    assert done.returncode == 1
    assert "answered 404" in done.stderr


def test_healthcheck_reads_the_port_from_the_environment(server):
    done = subprocess.run([str(BINARY), "healthcheck"], capture_output=True, text=True,
                          timeout=30, env={**os.environ, "INFERD_PORT": str(server.port)})
    assert done.returncode == 0, done.stderr


def test_healthcheck_fails_when_nothing_listens():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = healthcheck(port)
    assert done.returncode == 1
    assert "Connection refused" in done.stderr


def test_healthcheck_gives_up_on_a_server_that_never_answers():
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    started = time.monotonic()
    done = healthcheck(listener.getsockname()[1], "--timeout-ms", "300")
    elapsed = time.monotonic() - started
    listener.close()
    assert done.returncode == 1
    assert "no answer within 300 ms" in done.stderr
    assert elapsed < 10


def test_serves_the_registry_unprivileged_with_a_read_only_working_folder():
    # pytest's own temporary folders are private to their owner; nobody must reach this one.
    top = tempfile.mkdtemp(prefix="inferd-unprivileged-")
    try:
        serve_unprivileged(Path(top))
    finally:
        shutil.rmtree(top)


def serve_unprivileged(tmp_path):
    # Writable: the store folder, TMPDIR and the spool (emptyDir volumes in the pod).
    # Not writable: the working folder, where the defaults would otherwise write.
    workdir, tmp, spool, store_dir = (tmp_path / d for d in ("readonly", "tmp", "spool", "store"))
    for d in (workdir, tmp, spool, store_dir):
        d.mkdir()
    for d in (tmp, spool, store_dir):
        d.chmod(0o777)
    workdir.chmod(0o555)
    tmp_path.chmod(0o755)
    store = f"sqlite:///{store_dir}/inferd.db"
    # As root (CI), drop to nobody; otherwise the test already runs unprivileged.
    drop = (["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            if os.geteuid() == 0 else [])
    # The training Job's pod: the same read-only working folder.
    trained = subprocess.run(
        [*drop, str(BINARY), "--store", store, "train", "--data",
         str(DATA / "breast_cancer.csv"), "--target", "target", "--register", "breast_cancer",
         "--alias", "production", "--num-rounds", "20", "--seed", "7"],
        cwd=workdir, env={**os.environ, "TMPDIR": str(tmp)},
        capture_output=True, text=True, timeout=120)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    server = InferdServer(["--host", "127.0.0.1", "--port", "0", "--store", store,
                           "--spool-dir", str(spool)],
                          env={"TMPDIR": str(tmp)}, command_prefix=drop, cwd=workdir)
    try:
        server.wait_ready()
        uid = next(line.split()[1] for line in
                   Path(f"/proc/{server.proc.pid}/status").read_text().splitlines()
                   if line.startswith("Uid:"))
        assert int(uid) == (65534 if drop else os.geteuid())
        names, rows = read_csv("breast_cancer")
        reply = requests.post(server.url + "/v2/models/breast_cancer/infer", json={
            "inputs": [{"name": "input__0", "shape": [2, len(names)], "datatype": "FP32",
                        "data": rows[:2]}]}, timeout=10)
        assert reply.status_code == 200, reply.text
        assert len(reply.json()["outputs"][0]["data"]) == 2
        assert healthcheck(server.port).returncode == 0
    finally:
        assert server.stop() == 0
    assert not any(workdir.iterdir())
    assert "permission" not in "".join(server.log).lower()

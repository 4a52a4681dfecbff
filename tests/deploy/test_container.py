"""The image, built by scripts/deploy-check.sh with podman from the Dockerfile, run as the
Deployment runs it: read-only root file system as uid 10001, no capabilities, the writable
folders as volumes (the Deployment's emptyDirs). It trains the demo model inside into its
embedded store, serves it, and answers V2 and V1 exactly as the host build does; its
HEALTHCHECK passes; SIGTERM ends it with 0 within the pod's grace period."""
import json
import re
import subprocess
import time
from pathlib import Path

import pytest
import requests

from deploy_helpers import BINARY, ROOT, find, pod_spec, render
from podman_helpers import name_of, setting, wait_ready

DATA = ROOT / "tests" / "data"
REQUEST = json.loads((DATA / "demo-request.json").read_text())
V1_REQUEST = {"instances": [REQUEST["inputs"][0]["data"]]}
TRAIN = ["train", "--dataset-name", "breast_cancer", "--target", "target",
         "--register", "breast_cancer", "--alias", "production"]
IMAGE_DATASET = "/usr/share/inferd/datasets/breast_cancer.csv"
# The Deployment's terminationGracePeriodSeconds.
GRACE_S = pod_spec(find(render("base"), "Deployment", "inferd"))["terminationGracePeriodSeconds"]


def answers(url):
    """The V2 and V1 answers of a server for the demo request, less their prediction ids
    (unique to each prediction)."""
    v2 = requests.post(f"{url}/v2/models/breast_cancer/infer", json=REQUEST, timeout=10)
    assert v2.status_code == 200, v2.text
    v1 = requests.post(f"{url}/v1/models/breast_cancer:predict", json=V1_REQUEST, timeout=10)
    assert v1.status_code == 200, v1.text
    v2, v1 = v2.json(), v1.json()
    assert v2["parameters"].pop("prediction_id") and v1.pop("prediction_id")
    return v2, v1


@pytest.fixture(scope="module")
def host_answers(tmp_path_factory):
    """The host build trains the same model into a SQLite store, serves it and answers."""
    work = tmp_path_factory.mktemp("host")
    store = f"sqlite:///{work}/inferd.db"
    done = subprocess.run([BINARY, "--store", store, *TRAIN, "--data", DATA / "breast_cancer.csv"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    log = work / "serve.log"
    with open(log, "w") as out:
        server = subprocess.Popen([BINARY, "--store", store, "serve", "--host", "127.0.0.1",
                                   "--port", "0", "--grpc-port", "-1",
                                   "--spool-dir", work / "spool"],
                                  stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not (port := re.search(r"listening on [^ ]+:(\d+)", log.read_text())):
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        url = f"http://127.0.0.1:{port.group(1)}"
        wait_ready(url, "the host build", log.read_text)
        yield answers(url)
    finally:
        server.terminate()
        server.wait(30)


@pytest.fixture(scope="module")
def image():
    return setting("INFERD_CHECK_IMAGE")


def locked_down(podman, name):
    """What the Deployment gives the container: a read-only root, no capabilities, no
    privilege escalation, and volumes on the working folder and /tmp."""
    return ["--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "-v", f"{podman.volume(name + '-data')}:/var/lib/inferd",
            "-v", f"{podman.volume(name + '-tmp')}:/tmp"]


@pytest.fixture(scope="module")
def served(podman, image):
    """The image trains the demo model into its embedded store, then serves it."""
    name = name_of("image")
    mounts = locked_down(podman, name)
    trained = podman.run(*mounts, image, *TRAIN, "--data", IMAGE_DATASET, check=False)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    podman.start(name, *mounts, "-p", "127.0.0.1::9000", image)
    url = f"http://127.0.0.1:{podman.host_port(name, 9000)}"
    wait_ready(url, "the container", lambda: podman.logs(name))
    return name, url


def test_the_image_answers_v2_and_v1_exactly_as_the_host_build(served, host_answers):
    _, url = served
    v2, v1 = answers(url)
    assert v2 == host_answers[0]
    assert v1 == host_answers[1]
    assert v2["model_name"] == "breast_cancer" and v2["outputs"][0]["data"]


def test_the_container_runs_as_uid_10001_on_a_read_only_root(served, podman):
    name, _ = served
    assert podman("exec", name, "id", "-u").stdout.strip() == "10001"
    refused = podman("exec", name, "touch", "/usr/local/bin/x", check=False)
    assert refused.returncode != 0 and "Read-only file system" in refused.stderr
    # The working folder (the store) and /tmp are the writable volumes.
    podman("exec", name, "touch", "/var/lib/inferd/x", "/tmp/x")


def test_the_healthcheck_is_the_image_s_and_passes(served, podman, image):
    name, _ = served
    [config] = podman.inspect("image", image)
    health = config["Healthcheck"]["Test"]
    assert health[:3] == ["CMD", "inferd", "healthcheck"]
    done = podman("healthcheck", "run", name, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert podman("inspect", "--format", "{{.State.Health.Status}}", name).stdout.strip() == "healthy"


def test_sigterm_exits_0_within_the_pods_grace_period(served, podman):
    name, url = served
    answers(url)  # one more request: the server has work behind it
    start = time.monotonic()
    podman("stop", "-t", GRACE_S, name)
    took = time.monotonic() - start
    [state] = podman.inspect("container", name)
    assert state["State"]["ExitCode"] == 0, podman.logs(name)
    assert took < GRACE_S


def test_the_image_is_small_and_ships_no_build_tools_or_build_certificates(podman, image):
    [config] = podman.inspect("image", image)
    assert config["Config"]["User"] == "10001:10001"
    assert config["Config"]["Entrypoint"] == ["inferd"] and config["Config"]["Cmd"] == ["serve"]
    size_mb = config["Size"] / 1e6
    print(f"image size: {size_mb:.1f} MB")
    assert size_mb < 200, f"the image grew to {size_mb:.0f} MB"
    script = ("for t in gcc g++ cc c++ cmake ninja node nodejs npm go; do"
              "  command -v $t; done; ls /usr/local/share/ca-certificates 2>/dev/null; "
              "ldd /usr/local/bin/inferd | grep 'not found'; true")
    found = podman.run("--entrypoint", "/bin/sh", image, "-c", script).stdout.split()
    assert found == []
    # The machine's extra CA certificates served the build only.
    bundle = podman.run("--entrypoint", "/bin/cat", image,
                        "/etc/ssl/certs/ca-certificates.crt").stdout
    assert "BEGIN CERTIFICATE" in bundle
    for cert in Path("/usr/local/share/ca-certificates").glob("*.crt"):
        body = "".join(cert.read_text().split("-----")[2].split())
        assert body[:200] not in "".join(bundle.split()), f"{cert} is in the image"

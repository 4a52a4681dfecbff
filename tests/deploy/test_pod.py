"""The deployment's pieces run together under podman: a MongoDB-wire server (the FerretDB
test server, as an image, with the root user the MongoDB StatefulSet gets from the Secret)
reached by the name `mongodb` on a podman network, and inferd's image configured exactly
by the rendered ConfigMap and a Secret made as kube-apply.sh makes it: the training Job's
container trains into it, a server serves from it and logs its predictions into it, and
the Deployment's rendered pod template itself runs with `podman kube play` and passes
deploy/smoke-test.sh. What podman cannot do of the pod template is said below."""
import base64
import fcntl
import json
import re
import secrets
import subprocess
import time
import urllib.parse

import pymongo
import pytest
import requests
import yaml

from deploy_helpers import ROOT, find, pod_spec, render
from podman_helpers import free_port, name_of, setting, wait_ready

REQUEST = json.loads((ROOT / "tests/data/demo-request.json").read_text())
# What podman 4.3's `kube play` does not do of the pod template (it has no kubelet), beyond
# publishing its ports (see the test): the
# readiness probe over gRPC, the startup probe, the preStop hook, the spread constraints,
# the service account; the liveness probe becomes a health check running `curl` inside
# the container (the image has none) on port 0 (it does not resolve the port's name
# `http`), and health checks need systemd's timers, which this machine lacks. Nor can it
# read a Secret given in the YAML (it stores the YAML, then parses it as JSON: "secret ...
# is not valid JSON"), so the Secret is a podman secret of the same name. docs/deploy.md
# says the same.


@pytest.fixture(scope="module")
def objects():
    return render("base")


@pytest.fixture(scope="module")
def secret():
    """The Secret as kube-apply.sh makes it; the password has characters URIs escape."""
    return {"mongo-root-username": "inferd-root",
            "mongo-root-password": secrets.token_hex(12) + ":@/%",
            "admin-token": secrets.token_hex(32)}


def container_env(objects, container, secret):
    """The environment Kubernetes would give `container`: its envFrom ConfigMap, then its
    env (values, and keys of the Secret)."""
    config = find(objects, "ConfigMap", "inferd-config")["data"]
    env = {}
    for source in container.get("envFrom", []):
        assert source["configMapRef"]["name"] == "inferd-config"
        env.update(config)
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        elif "secretKeyRef" in var.get("valueFrom", {}):
            ref = var["valueFrom"]["secretKeyRef"]
            assert ref["name"] == "inferd-secrets"
            env[var["name"]] = secret[ref["key"]]
    return env


def expand(args, env):
    """Kubernetes' $(VAR) expansion of a container's args."""
    return [re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], a) for a in args]


@pytest.fixture(scope="module")
def network(podman, objects, secret):
    """A podman network with the FerretDB test server on it under the name mongodb, its
    root user from the Secret as the StatefulSet's container gets it."""
    [mongo] = pod_spec(find(objects, "StatefulSet", "mongodb"))["containers"]
    env = container_env(objects, mongo, secret)
    assert set(env) == {"MONGO_INITDB_ROOT_USERNAME", "MONGO_INITDB_ROOT_PASSWORD"}
    net = podman.network(name_of("network"))
    name = podman.start(name_of("mongodb"), "--network", net,
                        "--network-alias", "mongodb", "--read-only", *env_args(env),
                        "-v", f"{podman.volume(name_of('mongodb-data'))}:/data",
                        "-p", "127.0.0.1::27017", setting("INFERD_CHECK_FERRETDB_IMAGE"))
    user = urllib.parse.quote_plus(env["MONGO_INITDB_ROOT_USERNAME"])
    port = podman.host_port(name, 27017)

    def connect(password):
        return pymongo.MongoClient(
            f"mongodb://{user}:{urllib.parse.quote_plus(password)}@127.0.0.1:{port}/"
            "?authSource=admin", serverSelectionTimeoutMS=60000)
    client = connect(env["MONGO_INITDB_ROOT_PASSWORD"])
    client.admin.command("ping")
    # It requires the user, as MongoDB with a root user does.
    with connect("not-the-password") as wrong:
        with pytest.raises(pymongo.errors.OperationFailure, match="Authentication failed"):
            wrong.inferd.models.count_documents({})
    yield net, client
    client.close()


def env_args(env):
    return [a for k, v in env.items() for a in ("-e", f"{k}={v}")]


@pytest.fixture(scope="module")
def trained(podman, network, objects, secret):
    """The training Job's pod, as rendered: its init containers, then its container, each
    with its environment and args, sharing the pod's emptyDir volumes; it trains into
    MongoDB reached by name."""
    net, client = network
    pod = pod_spec(find(objects, "Job", "inferd-train"))
    volumes = {v["name"]: podman.volume(name_of(f"train-{v['name']}"))
               for v in pod.get("volumes", []) if "emptyDir" in v}
    for container in [*pod.get("initContainers", []), *pod["containers"]]:
        env = container_env(objects, container, secret)
        assert env["MONGO_URL"].split(":")[0] == "mongodb"
        mounts = [a for m in container.get("volumeMounts", [])
                  for a in ("-v", f"{volumes[m['name']]}:{m['mountPath']}")]
        done = podman.run("--network", net, "--read-only", *env_args(env), *mounts,
                          setting("INFERD_CHECK_IMAGE"), *expand(container["args"], env),
                          check=False)
        assert done.returncode == 0, f"{container['name']}:\n{done.stdout}{done.stderr}"
    database = client[env["MONGO_DB"]]
    assert database["model_versions"].count_documents({"name": env["TRAIN_MODEL"]}) == 1
    return database


def test_inferd_trains_serves_and_logs_predictions_in_mongodb_reached_by_name(
        podman, network, trained, objects, secret):
    net, _ = network
    server = pod_spec(find(objects, "Deployment", "inferd"))["containers"][0]
    env = container_env(objects, server, secret)
    name = podman.start(name_of("server"), "--network", net,
                        "--read-only", *env_args(env), "-p", "127.0.0.1::9000",
                        "-v", f"{podman.volume(name_of('server-data'))}:/var/lib/inferd",
                        "-v", f"{podman.volume(name_of('server-tmp'))}:/tmp",
                        setting("INFERD_CHECK_IMAGE"), *server["args"])
    url = f"http://127.0.0.1:{podman.host_port(name, 9000)}"
    wait_ready(url, "inferd on MongoDB", lambda: podman.logs(name))
    for _ in range(3):
        r = requests.post(f"{url}/v2/models/breast_cancer/infer", json=REQUEST, timeout=10)
        assert r.status_code == 200, r.text
    deadline = time.monotonic() + 60
    while trained["predictions"].count_documents({"model": "breast_cancer"}) < 3:
        assert time.monotonic() < deadline, podman.logs(name)
        time.sleep(0.5)


def test_the_deployment_s_pod_template_runs_with_kube_play_and_passes_the_smoke_test(
        podman, network, trained, objects, secret, tmp_path):
    net, _ = network
    deployment = find(objects, "Deployment", "inferd")
    deployment["spec"]["replicas"] = 1
    deployment["metadata"]["name"] = name_of("inferd")
    pod = pod_spec(deployment)
    pod["containers"][0]["image"] = setting("INFERD_CHECK_IMAGE")
    # podman 4.3 publishes every containerPort on the same port of all the host's addresses
    # when hostPort is unset (Kubernetes publishes none): give each a free loopback port.
    for port in pod["containers"][0]["ports"]:
        port.update(hostIP="127.0.0.1", hostPort=free_port())
    config = find(objects, "ConfigMap", "inferd-config")
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(yaml.safe_dump_all([config, deployment]))
    data = json.dumps({k: base64.b64encode(v.encode()).decode() for k, v in secret.items()})
    # podman secrets are not namespaced: one run at a time holds inferd-secrets, and only
    # while the pod is created (its environment is resolved then).
    with open("/tmp/inferd-check-kube-play.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        podman("secret", "rm", "inferd-secrets", check=False)
        podman("secret", "create", "inferd-secrets", "-", input=data)
        try:
            played = podman("kube", "play", "--network", net, manifest, check=False)
        finally:
            podman("secret", "rm", "inferd-secrets", check=False)
    assert played.returncode == 0, played.stdout + played.stderr
    print(played.stderr)  # what podman says of the fields it ignores
    # It prints "Pod:", the pod's id, "Container:", the container's id.
    lines = played.stdout.split()
    podman.pods.append(lines[lines.index("Pod:") + 1])
    container = lines[lines.index("Container:") + 1]
    [state] = podman.inspect("container", container)
    assert state["Config"]["User"] == "10001:10001"  # runAsUser, runAsGroup
    assert state["HostConfig"]["ReadonlyRootfs"] is True
    assert state["HostConfig"]["CapDrop"] and not state["HostConfig"]["CapAdd"]
    env = dict(e.split("=", 1) for e in state["Config"]["Env"])
    assert env["MONGO_URL"] == "mongodb:27017" and env["INFERD_SPOOL_DIR"]
    # The pod's own loopback, from inside its network namespace: the project's smoke test.
    pid = state["State"]["Pid"]
    done = subprocess.run(["nsenter", "-t", str(pid), "-n", ROOT / "deploy/smoke-test.sh",
                           "http://127.0.0.1:9000"], capture_output=True, text=True,
                          env={"SMOKE_TIMEOUT": "90", "PATH": "/usr/bin:/bin"}, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr + podman.logs(container)

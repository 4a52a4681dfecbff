"""deploy/k8s rendered with kustomize and checked offline for what an API server does not
check: the seed's facts and the wiring between objects (selectors, ports, Secret keys,
environment, labels). test_apiserver.py applies the overlays to a real API server."""
import ipaddress
import json
import re

import pytest
import yaml

from deploy_helpers import (K8S, OVERLAYS, ROOT, find, pod_spec, project_version, render,
                            render_text, run, serve_flag_envs)

WORKLOADS = ("Deployment", "StatefulSet", "Job", "CronJob")


def test_base_is_one_resource_per_file_and_lists_every_file():
    kustomization = yaml.safe_load((K8S / "base/kustomization.yaml").read_text())
    files = {p.name for p in (K8S / "base").glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
    for name in files:
        docs = [d for d in yaml.safe_load_all((K8S / "base" / name).read_text()) if d]
        assert len(docs) == 1, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_recommended_labels_on_every_object_and_pod(overlay):
    for obj in render(overlay):
        labels = obj["metadata"].get("labels", {})
        what = f'{obj["kind"]}/{obj["metadata"]["name"]}'
        for key in ("app.kubernetes.io/name", "app.kubernetes.io/part-of",
                    "app.kubernetes.io/version"):
            assert key in labels, f"{what} lacks {key}"
        assert labels["app.kubernetes.io/version"] == project_version(), what
        if obj["kind"] in WORKLOADS:
            template = (obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob"
                        else obj["spec"])["template"]["metadata"]["labels"]
            assert {"app.kubernetes.io/name", "app.kubernetes.io/component"} <= set(template)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_namespaced_object_is_in_the_inferd_namespace(overlay):
    for obj in render(overlay):
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == "inferd", obj["metadata"]["name"]


def test_seed_service_on_port_9000_and_ingress_for_my_deployed_app():
    objects = render("base")
    deployment = find(objects, "Deployment", "inferd")
    container = pod_spec(deployment)["containers"][0]
    assert {"name": "http", "containerPort": 9000} in container["ports"]
    assert {"name": "grpc", "containerPort": 9001} in container["ports"]
    service = find(objects, "Service", "inferd")
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 9000, "targetPort": "http"},
        {"name": "grpc", "port": 9001, "targetPort": "grpc", "appProtocol": "grpc"}]
    config = find(objects, "ConfigMap", "inferd-config")["data"]
    assert config["INFERD_GRPC_PORT"] == "9001"
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    ingress = find(objects, "Ingress", "inferd")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    [rule] = ingress["spec"]["rules"]
    assert rule["host"] == "my-deployed-app.com"
    [path] = rule["http"]["paths"]
    assert path["path"] == "/" and path["pathType"] == "Prefix"
    assert path["backend"]["service"] == {"name": "inferd", "port": {"name": "http"}}
    # The Ingress lets through the largest body inferd itself accepts (64 MiB).
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"] == "64m"


def test_seed_mongodb_is_reached_by_its_service_name():
    objects = render("base")
    config = find(objects, "ConfigMap", "inferd-config")["data"]
    host, port = config["MONGO_URL"].rsplit(":", 1)
    with pytest.raises(ValueError):
        ipaddress.ip_address(host)  # a name, never an address
    service = find(objects, "Service", host)
    assert service["spec"]["clusterIP"] == "None"  # headless, for the StatefulSet
    assert int(port) in [p["port"] for p in service["spec"]["ports"]]
    statefulset = find(objects, "StatefulSet", "mongodb")
    assert statefulset["spec"]["serviceName"] == host
    assert service["spec"]["selector"] == statefulset["spec"]["selector"]["matchLabels"]
    [mongo] = pod_spec(statefulset)["containers"]
    assert re.fullmatch(r"mongo:7(\.\d+)*", mongo["image"])
    assert mongo["volumeMounts"] == [{"name": "data", "mountPath": "/data/db"}]
    [claim] = statefulset["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data" and claim["spec"]["resources"]["requests"]["storage"]


def secret_refs(container):
    return {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container.get("env", [])
            if "secretKeyRef" in e.get("valueFrom", {})}


def test_seed_secret_and_configmap_are_wired_into_the_workloads():
    objects = render("base")
    secret = find(objects, "Secret", "inferd-secrets")
    keys = set(secret["stringData"])
    assert keys == {"mongo-root-username", "mongo-root-password", "admin-token"}
    for kind, name in [("Deployment", "inferd"), ("Job", "inferd-train"),
                       ("CronJob", "inferd-retrain")]:
        container = pod_spec(find(objects, kind, name))["containers"][0]
        assert {"configMapRef": {"name": "inferd-config"}} in container["envFrom"]
        refs = secret_refs(container)
        assert refs["MONGO_USERNAME"] == {"name": "inferd-secrets", "key": "mongo-root-username"}
        assert refs["MONGO_PASSWORD"] == {"name": "inferd-secrets", "key": "mongo-root-password"}
    server = pod_spec(find(objects, "Deployment", "inferd"))["containers"][0]
    assert secret_refs(server)["INFERD_ADMIN_TOKEN"]["key"] == "admin-token"
    [mongo] = pod_spec(find(objects, "StatefulSet", "mongodb"))["containers"]
    assert secret_refs(mongo) == {
        "MONGO_INITDB_ROOT_USERNAME": {"name": "inferd-secrets", "key": "mongo-root-username"},
        "MONGO_INITDB_ROOT_PASSWORD": {"name": "inferd-secrets", "key": "mongo-root-password"}}


def test_secret_and_configmap_come_before_what_reads_them():
    kinds = [o["kind"] for o in render("base")]
    first_workload = min(kinds.index(k) for k in WORKLOADS)
    assert kinds.index("Secret") < first_workload and kinds.index("ConfigMap") < first_workload


def test_the_secret_holds_placeholders_and_every_overlay_drops_it():
    secret = find(render("base"), "Secret", "inferd-secrets")
    assert all(v.startswith("PLACEHOLDER-") for v in secret["stringData"].values())
    for overlay in OVERLAYS[1:]:
        assert not [o for o in render(overlay) if o["kind"] == "Secret"], overlay


def test_configmap_settings_are_flags_inferd_reads():
    config = find(render("base"), "ConfigMap", "inferd-config")["data"]
    envs = serve_flag_envs()
    for key in config:
        if key.startswith("INFERD_"):
            assert key in envs, f"{key} is not an `inferd serve` flag"
    # The store settings inferd reads (store/store.cc) and the training parameters.
    assert {"MONGO_URL", "MONGO_DB"} <= set(config)
    job = pod_spec(find(render("base"), "Job", "inferd-train"))["containers"][0]
    for var in re.findall(r"\$\((\w+)\)", " ".join(job["args"])):
        assert var in config, f"the Job uses $({var}), which inferd-config lacks"


def test_server_pods_are_locked_down_probed_sized_and_spread():
    objects = render("base")
    deployment = find(objects, "Deployment", "inferd")
    assert deployment["spec"]["replicas"] == 2
    spec = pod_spec(deployment)
    [container] = spec["containers"]
    # Readiness through gRPC's health service (the same readiness as /v2/health/ready).
    assert container["readinessProbe"]["grpc"] == {"port": 9001}
    assert container["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": "http"}
    assert set(container["resources"]) == {"requests", "limits"}
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == 10001  # the image's USER
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {"allowPrivilegeEscalation": False,
                                            "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}}
    assert spec["automountServiceAccountToken"] is False
    # Service links would set INFERD_PORT=tcp://... from the Service named inferd.
    for kind, name in [("Job", "inferd-train"), ("CronJob", "inferd-retrain")]:
        assert pod_spec(find(objects, kind, name))["enableServiceLinks"] is False
    assert spec["enableServiceLinks"] is False
    # Writable: TMPDIR and the spool, on emptyDir volumes.
    config = find(objects, "ConfigMap", "inferd-config")["data"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert config["TMPDIR"] in mounts
    assert any(config["INFERD_SPOOL_DIR"].startswith(m + "/") for m in mounts)
    # Graceful termination: preStop pause + inferd's drain fit in the grace period.
    pause = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
    drain = int(config["INFERD_SHUTDOWN_GRACE_MS"]) / 1000
    assert pause + drain < spec["terminationGracePeriodSeconds"]
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    keys = {c["topologyKey"] for c in spec["topologySpreadConstraints"]}
    assert "kubernetes.io/hostname" in keys


def test_autoscaler_budget_and_network_policy_select_the_right_pods():
    objects = render("base")
    server = find(objects, "Deployment", "inferd")["spec"]["selector"]["matchLabels"]
    hpa = find(objects, "HorizontalPodAutoscaler", "inferd")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": "inferd"}
    assert hpa["spec"]["minReplicas"] >= 2
    pdb = find(objects, "PodDisruptionBudget", "inferd")
    assert pdb["spec"]["selector"]["matchLabels"] == server
    policy = find(objects, "NetworkPolicy", "mongodb")
    mongo = find(objects, "StatefulSet", "mongodb")["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= mongo.items()
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    [rule] = policy["spec"]["ingress"]
    [source] = rule["from"]
    allowed = source["podSelector"]["matchLabels"]
    assert set(source) == {"podSelector"} and rule["ports"] == [{"protocol": "TCP", "port": 27017}]
    # Every inferd pod (server and training) is allowed; MongoDB's own pods are not.
    for kind, name in [("Deployment", "inferd"), ("Job", "inferd-train"),
                       ("CronJob", "inferd-retrain")]:
        obj = find(objects, kind, name)
        template = obj["spec"]["jobTemplate"]["spec"] if kind == "CronJob" else obj["spec"]
        assert allowed.items() <= template["template"]["metadata"]["labels"].items()
    assert not allowed.items() <= mongo.items()


def test_training_job_and_cronjob_run_the_same_pod():
    objects = render("base")
    job = find(objects, "Job", "inferd-train")
    cron = find(objects, "CronJob", "inferd-retrain")
    assert job["spec"]["template"] == cron["spec"]["jobTemplate"]["spec"]["template"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[0] == "train" and "--register" in args and "--alias" in args


def test_minikube_overlay_runs_one_local_image_without_pulling():
    objects = render("overlays/minikube")
    assert find(objects, "Deployment", "inferd")["spec"]["replicas"] == 1
    for kind, name in [("Deployment", "inferd"), ("Job", "inferd-train"),
                       ("CronJob", "inferd-retrain")]:
        container = pod_spec(find(objects, kind, name))["containers"][0]
        assert container["image"] == "inferd:dev" and container["imagePullPolicy"] == "Never"
    assert not [o for o in objects if o["apiVersion"].startswith("monitoring.coreos.com")]


def test_production_overlay_adds_monitoring_and_sizes():
    objects = render("overlays/production")
    assert find(objects, "Deployment", "inferd")["spec"]["replicas"] == 3
    image = pod_spec(find(objects, "Deployment", "inferd"))["containers"][0]["image"]
    assert image == f"ghcr.io/inferd/inferd:{project_version()}"
    monitor = find(objects, "ServiceMonitor", "inferd")
    service = find(objects, "Service", "inferd")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] in [p["name"] for p in service["spec"]["ports"]]
    assert endpoint["path"] == "/metrics"
    find(objects, "PrometheusRule", "inferd")
    dashboard = find(objects, "ConfigMap", "inferd-grafana-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    json.loads(dashboard["data"]["grafana-dashboard.json"])


def test_terraform_manifests_are_the_current_production_render():
    rendered = (ROOT / "deploy/terraform/manifests/inferd.yaml").read_text()
    body = rendered.split("\n", 1)[1]  # after the "do not edit" line
    assert body == render_text("overlays/production"), "run deploy/terraform/render.sh"


def container_env(container):
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def check_args_are_defined(objects, container):
    """Every $(VAR) in the args comes from the ConfigMap, the container's env or Kubernetes."""
    config = find(objects, "ConfigMap", "inferd-config")["data"]
    defined = set(config) | set(container_env(container)) | {"JOB_COMPLETION_INDEX"}
    for var in re.findall(r"\$\((\w+)\)", " ".join(container["args"])):
        assert var in defined, f"{container['name']} uses $({var}), which nothing defines"


def check_spread_and_sized(job):
    spec = job["spec"]["template"]["spec"]
    labels = job["spec"]["template"]["metadata"]["labels"]
    [term] = spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert term["podAffinityTerm"]["labelSelector"]["matchLabels"].items() <= labels.items()
    [container] = spec["containers"]
    assert set(container["resources"]) == {"requests", "limits"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert spec["enableServiceLinks"] is False and spec["securityContext"]["runAsNonRoot"]
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"]
              for v in spec["volumes"] if "persistentVolumeClaim" in v}
    assert claims == {"data": "inferd-data"}
    assert {"name": "data", "mountPath": "/data"}.items() <= container["volumeMounts"][0].items()
    return container


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_dataset_shards_run_as_an_indexed_job(overlay):
    objects = render(overlay)
    job = find(objects, "Job", "inferd-dataset")
    assert job["spec"]["completionMode"] == "Indexed"
    container = check_spread_and_sized(job)
    shards = int(container_env(container)["DATASET_SHARDS"])
    assert job["spec"]["completions"] == job["spec"]["parallelism"] == shards
    args = container["args"]
    assert args[:2] == ["datasets", "add"]
    assert args[args.index("--shard") + 1] == "$(JOB_COMPLETION_INDEX)/$(DATASET_SHARDS)"
    assert args[args.index("--run") + 1] == "$(JOB_NAME)"
    assert args[args.index("--columnar-dir") + 1].startswith("/data/")
    job_name = next(e for e in container["env"] if e["name"] == "JOB_NAME")
    assert job_name["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.labels['job-name']"
    check_args_are_defined(objects, container)
    claim = find(objects, "PersistentVolumeClaim", "inferd-data")
    # Pods on several nodes share it; a one-node cluster (minikube, kind) needs no more than RWO.
    one_node = overlay == "overlays/minikube"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce" if one_node else "ReadWriteMany"]


@pytest.mark.parametrize("overlay", ["overlays/production", "overlays/production-gpu"])
def test_distributed_training_workers_find_the_tracker_and_the_cronjob_starts_them(overlay):
    objects = render(overlay)
    assert not [o for o in objects if o["kind"] == "Job" and o["metadata"]["name"] == "inferd-train"]
    job = find(objects, "Job", "inferd-train-distributed")
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed" and spec["backoffLimit"] == 0
    container = check_spread_and_sized(job)
    workers = int(container_env(container)["TRAIN_WORKERS"])
    assert spec["completions"] == spec["parallelism"] == workers > 1
    args = container["args"]
    assert args[args.index("--worker-index") + 1] == "$(JOB_COMPLETION_INDEX)"
    assert args[args.index("--workers") + 1] == "$(TRAIN_WORKERS)"
    # Worker 0 of Job J is J-0.<subdomain>: the tracker it hosts, behind the headless Service.
    service = find(objects, "Service", spec["template"]["spec"]["subdomain"])
    assert service["spec"]["clusterIP"] == "None" and service["spec"]["publishNotReadyAddresses"]
    assert service["spec"]["selector"].items() <= spec["template"]["metadata"]["labels"].items()
    [port] = service["spec"]["ports"]
    assert {"name": port["targetPort"], "containerPort": port["port"]} in container["ports"]
    host, tracker_port = args[args.index("--tracker-address") + 1].rsplit(":", 1)
    assert host == f"$(JOB_NAME)-0.{service['metadata']['name']}"
    assert int(tracker_port) == port["port"]
    check_args_are_defined(objects, container)
    # No other Service selects the workers (the server's Service selects servers only).
    for other in objects:
        if other["kind"] == "Service" and other is not service:
            assert not other["spec"]["selector"].items() <= spec["template"]["metadata"]["labels"].items()
    cron = find(objects, "CronJob", "inferd-retrain")
    assert cron["spec"]["jobTemplate"]["spec"]["template"] == spec["template"]
    assert cron["spec"]["jobTemplate"]["spec"]["completionMode"] == "Indexed"
    assert cron["spec"]["jobTemplate"]["spec"]["completions"] == workers
    gpu = overlay.endswith("-gpu")
    assert ("nvidia.com/gpu" in container["resources"]["limits"]) == gpu
    assert (args[-2:] == ["--device", "cuda"]) == gpu

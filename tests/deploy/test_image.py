"""What the image build and run with podman (test_container.py) cannot show, checked
offline with the libraries Docker itself uses through tools/deploycheck: the Dockerfile
against BuildKit's checks (GitHub builds it with BuildKit; podman does not lint), the build
context that .dockerignore leaves (BuildKit's matcher), and docker-compose.yml
(compose-go), which needs Docker Compose and the mongo, Prometheus and Grafana images from
a registry to run."""
import re
import shutil

import pytest
import yaml

from deploy_helpers import ROOT, deploycheck, run, serve_flag_envs, tool


def test_the_dockerfile_passes_buildkits_checks():
    parsed = deploycheck("dockerfile", ROOT / "Dockerfile")  # fails on any warning
    assert [s["name"] for s in parsed["stages"]] == ["base", "build", "runtime"]


def test_build_context_sends_the_sources_and_nothing_local():
    files = set(deploycheck("context", ROOT))
    for needed in ("CMakeLists.txt", "src/main.cc", "src/api/openapi.json",
                   "scripts/install-deps.sh", "scripts/build.sh", "tests/data/breast_cancer.csv",
                   "deploy/image/runtime-files.sh"):
        assert needed in files
    for local in (".git/", ".venv/", "build/", "third_party/swagger-ui/", "third_party/uplot/",
                  ".tools/", "tests/deploy/node_modules/", "inferd-data/"):
        assert not any(f.startswith(local) for f in files), local


@pytest.fixture(scope="module")
def compose(tmp_path_factory):
    env = tmp_path_factory.mktemp("compose") / "test.env"
    env.write_text("MONGO_PASSWORD=test-only\nINFERD_ADMIN_TOKEN=test-only\n"
                   "GRAFANA_ADMIN_PASSWORD=test-only\n")
    return deploycheck("compose", ROOT / "docker-compose.yml", env)


def test_compose_refuses_to_start_without_the_secrets():
    done = run(tool("deploycheck"), "compose", ROOT / "docker-compose.yml", cwd="/")
    assert done.returncode == 1
    assert "MONGO_PASSWORD" in done.stderr


def test_compose_runs_mongodb_training_inferd_prometheus_grafana(compose):
    services = compose["services"]
    assert set(services) == {"mongodb", "train", "inferd", "prometheus", "grafana"}
    mongo = services["mongodb"]
    assert re.fullmatch(r"mongo:7(\.\d+)*", mongo["image"])
    assert [v["target"] for v in mongo["volumes"] if v["type"] == "volume"] == ["/data/db"]
    inferd = services["inferd"]
    assert inferd["ports"][0]["target"] == 9000 and inferd["ports"][0]["published"] == "9000"
    assert inferd["ports"][1]["target"] == 9001 and inferd["ports"][1]["published"] == "9001"
    assert inferd["depends_on"]["train"]["condition"] == "service_completed_successfully"
    assert inferd["depends_on"]["mongodb"]["condition"] == "service_healthy"
    assert inferd["read_only"] is True
    assert inferd["environment"]["MONGO_URL"].split(":")[0] == "mongodb"
    for key in inferd["environment"]:
        if key.startswith("INFERD_"):
            assert key in serve_flag_envs() | {"INFERD_ADMIN_TOKEN"}, key
    train = services["train"]
    assert train["command"][0] == "train" and "--register" in train["command"]
    assert train["restart"] == "no"
    assert train["image"] == inferd["image"] and train["build"]["context"] == str(ROOT)


def mounts(service):
    return {v["target"]: v["source"] for v in service["volumes"] if v["type"] == "bind"}


def test_compose_prometheus_loads_inferd_rules_and_its_config_passes_promtool(compose, tmp_path):
    binds = mounts(compose["services"]["prometheus"])
    config = binds["/etc/prometheus/prometheus.yml"]
    assert binds["/etc/prometheus/alerts.yml"] == str(ROOT / "deploy/monitoring/alerts.yml")
    # Checked as the container sees it: both files side by side.
    shutil.copy(config, tmp_path / "prometheus.yml")
    shutil.copy(binds["/etc/prometheus/alerts.yml"], tmp_path / "alerts.yml")
    done = run("promtool", "check", "config", tmp_path / "prometheus.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 rules found" not in done.stdout and "SUCCESS" in done.stdout
    scrape = yaml.safe_load(open(config))["scrape_configs"][0]
    assert scrape["static_configs"][0]["targets"] == ["inferd:9000"]


def test_compose_grafana_is_provisioned_with_the_dashboard(compose):
    binds = mounts(compose["services"]["grafana"])
    provisioning = binds["/etc/grafana/provisioning"]
    dashboards = yaml.safe_load(open(f"{provisioning}/dashboards/inferd.yml"))
    folder = dashboards["providers"][0]["options"]["path"]
    assert binds[f"{folder}/inferd.json"] == str(ROOT / "deploy/monitoring/grafana-dashboard.json")
    sources = yaml.safe_load(open(f"{provisioning}/datasources/prometheus.yml"))
    assert sources["datasources"][0]["url"] == "http://prometheus:9090"


def test_env_example_holds_placeholders_only_and_env_is_ignored():
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            assert value in ("CHANGE-ME", "inferd-root"), key
    assert run("git", "-C", ROOT, "check-ignore", "-q", ".env").returncode == 0

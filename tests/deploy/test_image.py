"""The Dockerfile, its build context and docker-compose.yml, checked offline with the
libraries Docker itself uses (BuildKit's Dockerfile parser and .dockerignore matcher,
compose-go) through tools/deploycheck, plus the runtime libraries against the binary."""
import re
import shutil

import pytest
import yaml

from deploy_helpers import (BINARY, ROOT, deploycheck, find, pod_spec, render, run,
                            serve_flag_envs, tool)

# Present in debian:bookworm-slim already.
BASE_PACKAGES = {"libc6", "libstdc++6", "libgcc-s1"}


@pytest.fixture(scope="module")
def dockerfile():
    parsed = deploycheck("dockerfile", ROOT / "Dockerfile")
    return {s["name"]: s["instructions"] for s in parsed["stages"]}


def instructions(stage, keyword):
    return [i for i in stage if i.split(" ", 1)[0] == keyword]


def runtime_packages(stage):
    [install] = [i for i in stage if "apt-get install" in i]
    words = install.split("--no-install-recommends", 1)[1].split("&&")[0].split()
    return set(words)


def test_two_stages_the_build_one_running_the_ci_scripts(dockerfile):
    assert list(dockerfile) == ["build", "runtime"]
    build = " ".join(dockerfile["build"])
    assert "scripts/install-deps.sh --build-only" in build
    assert "scripts/build.sh" in build and "-DINFERD_BUILD_TESTS=OFF" in build


def test_runtime_stage_is_slim_non_root_healthchecked_and_labelled(dockerfile):
    parsed = deploycheck("dockerfile", ROOT / "Dockerfile")
    runtime = dockerfile["runtime"]
    assert parsed["stages"][1]["base"].endswith("-slim")
    [user] = instructions(runtime, "USER")
    uid = user.split()[1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    # Kubernetes' runAsUser is the same uid.
    deployment = find(render("base"), "Deployment", "inferd")
    assert pod_spec(deployment)["securityContext"]["runAsUser"] == int(uid)
    assert instructions(runtime, "EXPOSE") == ["EXPOSE 9000 9001"]
    [health] = instructions(runtime, "HEALTHCHECK")
    assert '"inferd", "healthcheck"' in health
    assert instructions(runtime, "ENTRYPOINT") == ['ENTRYPOINT ["inferd"]']
    labels = " ".join(instructions(runtime, "LABEL"))
    for key in ("title", "description", "version", "revision", "created", "source", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels


def test_runtime_packages_provide_every_library_the_binary_links(dockerfile):
    packages = runtime_packages(dockerfile["runtime"])
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]",
                        run("readelf", "-d", BINARY).stdout)
    assert needed
    for soname in needed:
        owner = run("dpkg", "-S", f"*/{soname}")
        assert owner.returncode == 0, f"no Debian package owns {soname}"
        owners = {line.split(":", 1)[0] for line in owner.stdout.splitlines()}
        assert owners & (packages | BASE_PACKAGES), f"{soname} comes from {owners}"


def test_runtime_packages_exist_in_debian(dockerfile):
    for package in runtime_packages(dockerfile["runtime"]):
        assert run("apt-cache", "show", package).returncode == 0, package


def test_build_context_sends_the_sources_and_nothing_local():
    files = set(deploycheck("context", ROOT))
    for needed in ("CMakeLists.txt", "src/main.cc", "src/api/openapi.json",
                   "scripts/install-deps.sh", "scripts/build.sh", "tests/data/breast_cancer.csv"):
        assert needed in files
    for local in (".git/", ".venv/", "build/", "third_party/swagger-ui/", "third_party/uplot/",
                  ".tools/", "tests/deploy/node_modules/", "inferd-data/"):
        assert not any(f.startswith(local) for f in files), local


def test_every_copied_file_is_in_the_build_context(dockerfile):
    files = set(deploycheck("context", ROOT))
    for stage in dockerfile.values():
        for copy in instructions(stage, "COPY"):
            words = copy.split()[1:]
            if any(w.startswith("--from") for w in words):
                continue
            for source in words[:-1]:
                assert source == "." or source.rstrip("/") in files or any(
                    f.startswith(source) for f in files), source


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

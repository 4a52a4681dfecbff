"""The GitHub Actions workflows: actionlint (with shellcheck on every run: block) and
action-validator (the workflow JSON schema), pinned actions, and what each must do."""
import re

import pytest
import yaml

from deploy_helpers import NODE_BIN, ROOT, run, tool

WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))


def load(name):
    return yaml.safe_load((ROOT / ".github/workflows" / name).read_text())


def steps(workflow, job):
    return workflow["jobs"][job]["steps"]


def runs(workflow, job):
    return "\n".join(s.get("run", "") for s in steps(workflow, job))


def uses(workflow):
    return [s["uses"] for job in workflow["jobs"].values() for s in job.get("steps", [])
            if "uses" in s]


def test_the_workflows_exist():
    assert [w.name for w in WORKFLOWS] == ["ci.yml", "e2e.yml", "fuzz-nightly.yml", "image.yml"]


def test_fuzzing_runs_nightly_with_the_kept_corpus():
    workflow = load("fuzz-nightly.yml")
    assert "schedule" in workflow[True]  # YAML 1.1 reads the key `on` as True
    assert "scripts/install-deps.sh" in runs(workflow, "fuzz")
    assert "scripts/fuzz.sh" in runs(workflow, "fuzz")
    env = workflow["jobs"]["fuzz"]["env"]
    assert env["FUZZ_SECONDS"].endswith("'600' }}")
    assert env["FUZZ_REPLAY_ONLY"] == ""  # the nightly fuzzes the XGBoost targets too
    cache = {s["uses"].split("@")[0]: s for s in steps(workflow, "fuzz")
             if s.get("uses", "").startswith("actions/cache/")}
    restore, save = cache["actions/cache/restore"], cache["actions/cache/save"]
    assert restore["with"]["path"] == save["with"]["path"] == "build-fuzz/corpus"
    assert restore["with"]["restore-keys"] == "fuzz-corpus-"
    assert save["with"]["key"].startswith("fuzz-corpus-") and save["if"] == "always()"
    kept = next(s for s in steps(workflow, "fuzz")
                if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert kept["if"] == "failure()" and "build-fuzz/crashes/" in kept["with"]["path"]


def test_ci_runs_every_fuzz_target_for_a_bounded_time():
    script = (ROOT / "scripts/test.sh").read_text()
    assert "scripts/fuzz.sh" in script
    assert "FUZZ_SECONDS:-20" in (ROOT / "scripts/fuzz.sh").read_text()


def test_actionlint_passes():
    done = run(tool("actionlint"), "-shellcheck", tool("shellcheck"), *WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_action_validator_passes(workflow):
    done = run(NODE_BIN / "action-validator", workflow)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_release(workflow):
    for action in uses(yaml.safe_load(workflow.read_text())):
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@(v\d+\.\d+\.\d+|[0-9a-f]{40})", action), action


def test_ci_tests_against_a_real_mongodb_7_runs_the_sanitizers_and_the_deploy_checks():
    ci = load("ci.yml")
    test = ci["jobs"]["test"]
    assert re.fullmatch(r"mongo:7(\.\d+)*", test["services"]["mongo"]["image"])
    uri = test["env"]["INFERD_TEST_MONGODB_URI"]
    assert uri.startswith("mongodb://") and "@mongo:27017/" in uri
    assert "scripts/test.sh" in runs(ci, "test")
    assert "scripts/test-sanitizers.sh" in runs(ci, "sanitizers")
    kept = next(s for s in steps(ci, "test")
                if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert kept["if"] == "always()" and kept["with"]["path"] == "build/screenshots/"
    assert test["env"]["INFERD_DEPLOY_OFFLINE"] == "1"  # no podman in its container
    # ...so the deployment checks run in a job of their own, on the runner VM.
    deploy = ci["jobs"]["deploy"]
    assert "container" not in deploy and "--privileged" in runs(ci, "deploy")
    assert "scripts/deploy-check.sh" in runs(ci, "deploy")
    terraform = runs(ci, "terraform")
    assert "terraform fmt -check" in terraform and "terraform validate" in terraform


def test_image_is_built_checked_and_pushed_to_ghcr_and_docker_hub_with_version_and_commit():
    image = load("image.yml")
    assert image[True]["push"]["branches"] == ["main"]  # PyYAML reads `on:` as True
    assert image[True]["push"]["tags"] == ["v*.*.*"]
    meta = next(s for s in steps(image, "image") if s.get("id") == "meta")
    assert "ghcr.io/" in meta["with"]["images"] and "docker.io/" in meta["with"]["images"]
    assert "type=semver" in meta["with"]["tags"] and "type=sha" in meta["with"]["tags"]
    actions = " ".join(uses(image))
    for action in ("docker/setup-buildx-action", "docker/metadata-action",
                   "docker/login-action", "docker/build-push-action"):
        assert action in actions
    text = (ROOT / ".github/workflows/image.yml").read_text()
    assert "secrets.DOCKERHUB_TOKEN" in text and "secrets.GITHUB_TOKEN" in text
    assert "healthy" in runs(image, "image") and "-u)\" = 10001" in runs(image, "image")


def test_e2e_deploys_to_kind_through_ingress_and_runs_training():
    e2e = load("e2e.yml")
    assert any(a.startswith("helm/kind-action@") for a in uses(e2e))
    script = runs(e2e, "kind")
    assert "kind load docker-image inferd:dev" in script
    assert "ingress-nginx" in script
    assert "deploy/kube-apply.sh deploy/k8s/overlays/minikube" in script
    assert "deploy/smoke-test.sh http://127.0.0.1 my-deployed-app.com" in script
    assert "--for=condition=complete job/inferd-retrain-e2e" in script
    # kube-apply.sh waits for the training Job and the rollout itself.
    apply = (ROOT / "deploy/kube-apply.sh").read_text()
    assert "--for=condition=complete job/inferd-train" in apply
    assert "rollout status deployment/inferd" in apply

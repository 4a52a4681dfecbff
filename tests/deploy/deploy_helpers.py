"""Shared by the deployment checks: where the tools are, and rendering the overlays."""
import json
import os
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
TOOLS = ROOT / ".tools" / "bin"
NODE_BIN = ROOT / "tests" / "deploy" / "node_modules" / ".bin"
BINARY = Path(os.environ.get("INFERD_BINARY", ROOT / "build" / "inferd"))
OVERLAYS = ["base", "overlays/minikube", "overlays/production", "overlays/production-gpu"]


def tool(name):
    """A tool from .tools/bin (installed by scripts/install-deps.sh), else from PATH."""
    local = TOOLS / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    assert found, f"{name} is missing: run scripts/install-deps.sh"
    return found


def run(*args, **kwargs):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300,
                          **kwargs)


def kustomize_command():
    """kubectl's kustomize where kubectl has one, else kustomize from .tools/bin."""
    if shutil.which("kubectl") and run("kubectl", "kustomize", "--help").returncode == 0:
        return ["kubectl", "kustomize"]
    return [tool("kustomize"), "build"]


@lru_cache(maxsize=None)
def render_text(overlay):
    """The rendered deploy/k8s/<overlay>, as YAML text."""
    done = run(*kustomize_command(), K8S / overlay)
    assert done.returncode == 0, done.stderr
    return done.stdout


def render(overlay):
    return [d for d in yaml.safe_load_all(render_text(overlay)) if d]


def find(objects, kind, name=None):
    matches = [o for o in objects if o["kind"] == kind and name in (None, o["metadata"]["name"])]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def pod_spec(obj):
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def deploycheck(*args):
    """tools/deploycheck (compose-go, BuildKit's Dockerfile parser); parsed JSON output."""
    done = run(tool("deploycheck"), *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def serve_flag_envs():
    """The environment variables `inferd serve` reads, from its own --help (and inferd's)."""
    envs = set()
    for command in ([], ["serve"]):
        done = run(BINARY, *command, "--help")
        assert done.returncode == 0, done.stderr
        envs |= set(re.findall(r"Env:(INFERD_[A-Z_]+)", done.stdout))
    return envs


def project_version():
    """inferd's version, from CMakeLists.txt's project()."""
    text = (ROOT / "CMakeLists.txt").read_text()
    return re.search(r"project\(inferd VERSION (\S+)", text).group(1)

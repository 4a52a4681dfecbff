"""Every shell script passes shellcheck; the deploy scripts say how to use them."""
from deploy_helpers import ROOT, run, tool

SCRIPTS = sorted([*ROOT.glob("scripts/*.sh"), *ROOT.glob("deploy/*.sh"),
                  *ROOT.glob("deploy/**/*.sh"), ROOT / ".ci/run"])


def test_shellcheck_passes_on_every_script():
    assert len(SCRIPTS) >= 10
    done = run(tool("shellcheck"), "--severity=style", *sorted(set(SCRIPTS)))
    assert done.returncode == 0, done.stdout + done.stderr


def test_minikube_script_names_its_commands():
    done = run(ROOT / "deploy/minikube.sh")
    assert done.returncode == 2 and "usage:" in done.stderr and "up|status|down" in done.stderr


def test_minikube_up_follows_the_seed_order():
    """start, ingress addon, image built inside minikube, then kube-apply.sh (whose own
    order test_apiserver.py sees on a real API server), the /etc/hosts line and a smoke
    test through the Ingress. minikube itself cannot run here (no VM, no registry)."""
    script = (ROOT / "deploy/minikube.sh").read_text()
    up = script[script.index("up() {"):script.index("status() {")]
    order = ["minikube start", "minikube addons enable ingress", "minikube image build",
             "deploy/kube-apply.sh", "hosts_line", "deploy/smoke-test.sh"]
    positions = [up.index(step) for step in order]
    assert positions == sorted(positions)

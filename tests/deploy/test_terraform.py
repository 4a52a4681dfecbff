"""deploy/terraform: formatted (`terraform fmt -check`), and its manifests submodule,
which needs no provider, evaluated offline against the rendered production overlay.
`terraform validate` of the whole module needs the kubernetes provider from the Terraform
registry, which this machine cannot reach: ci.yml runs it on GitHub Actions."""
import json

import pytest
import yaml

from deploy_helpers import ROOT, run, tool

TERRAFORM = ROOT / "deploy/terraform"


def test_terraform_fmt_check():
    done = run(tool("terraform"), "fmt", "-check", "-recursive", "-diff", TERRAFORM)
    assert done.returncode == 0, done.stdout + done.stderr


def evaluate(tmp_path, monitoring):
    (tmp_path / "main.tf").write_text(f'''
module "manifests" {{
  source            = "{TERRAFORM}/modules/manifests"
  manifests_file    = "{TERRAFORM}/manifests/inferd.yaml"
  namespace         = "ml-serving"
  image             = "registry.example.com/team/inferd:1.2.3"
  ingress_host      = "inferd.example.com"
  enable_monitoring = {str(monitoring).lower()}
}}
output "objects" {{
  value = module.manifests.objects
}}
''')
    env = {"TF_IN_AUTOMATION": "1", "TF_CLI_CONFIG_FILE": "/dev/null", "CHECKPOINT_DISABLE": "1",
           "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for args in (["init", "-input=false", "-backend=false"],
                 ["apply", "-input=false", "-auto-approve", f"-state={tmp_path}/state"]):
        done = run(tool("terraform"), f"-chdir={tmp_path}", *args, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
    done = run(tool("terraform"), f"-chdir={tmp_path}", "output", f"-state={tmp_path}/state",
               "-json", "objects", env=env)
    assert done.returncode == 0, done.stderr
    return {key: yaml.safe_load(text) for key, text in json.loads(done.stdout).items()}


@pytest.mark.parametrize("monitoring", [False, True])
def test_manifests_module_sets_namespace_image_and_host(tmp_path, monitoring):
    objects = evaluate(tmp_path, monitoring)
    assert "Namespace/inferd" not in objects  # the module creates the namespace
    assert not [k for k in objects if k.startswith("Secret/")]  # and the Secret
    assert all(o["metadata"]["namespace"] == "ml-serving" for o in objects.values())
    deployment = objects["Deployment/inferd"]
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "registry.example.com/team/inferd:1.2.3"
    # The dataset shards and the distributed training workers run the same image.
    for name in ("Job/inferd-dataset", "Job/inferd-train-distributed"):
        job = objects[name]["spec"]["template"]["spec"]["containers"][0]
        assert job["image"] == image, name
    assert objects["Ingress/inferd"]["spec"]["rules"][0]["host"] == "inferd.example.com"
    monitors = {"ServiceMonitor/inferd", "PrometheusRule/inferd",
                "ConfigMap/inferd-grafana-dashboard"}
    assert (monitors <= set(objects)) == monitoring
    assert bool(monitors & set(objects)) == monitoring


def test_secret_comes_from_sensitive_variables():
    text = (TERRAFORM / "variables.tf").read_text()
    for name in ("mongo_root_password", "admin_token"):
        block = text[text.index(f'variable "{name}"'):]
        block = block[:block.index("\n}\n")]
        assert "sensitive   = true" in block and "default" not in block
    main = (TERRAFORM / "main.tf").read_text()
    assert 'resource "kubernetes_secret_v1"' in main and "var.mongo_root_password" in main

"""Alert rules (promtool check + unit tests), the PrometheusRule copy, and that every metric
the rules and the Grafana dashboard use exists in inferd's output."""
import json
import re
import subprocess

import requests
import yaml

from conftest import ROOT

MONITORING = ROOT / "deploy" / "monitoring"
METRIC = re.compile(r"\b((?:inferd|nv|process)_[a-z0-9_]+)\b")


def test_rules_pass_promtool_and_their_unit_tests():
    check = subprocess.run(["promtool", "check", "rules", str(MONITORING / "alerts.yml")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    test = subprocess.run(["promtool", "test", "rules", "tests/monitoring/alerts_test.yml"],
                          cwd=ROOT, capture_output=True, text=True)
    assert test.returncode == 0 and "SUCCESS" in test.stdout, test.stdout + test.stderr


def test_prometheusrule_carries_the_same_rules():
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    crd = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    assert crd["kind"] == "PrometheusRule"
    assert crd["spec"] == rules


def exposed_names(text):
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            names.add(name)
            if kind == "histogram":
                names |= {name + "_bucket", name + "_sum", name + "_count"}
    return names


def test_every_metric_in_rules_and_dashboard_exists(server):
    body = {"inputs": [{"name": "input__0", "shape": [1, 4], "datatype": "FP32",
                        "data": [1, 2, 3, 4]}]}
    requests.post(server.url + "/v2/models/iris/infer", json=body)
    exposed = exposed_names(requests.get(server.url + "/metrics").text)
    exposed |= exposed_names(requests.get(server.url + "/metrics/triton").text)
    rules = (MONITORING / "alerts.yml").read_text()
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs.append(dashboard["templating"]["list"][1]["query"]["query"])
    used = set(METRIC.findall(rules)) | {m for e in exprs for m in METRIC.findall(e)}
    assert len(used) > 10
    assert used - exposed == set()

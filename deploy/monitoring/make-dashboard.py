#!/usr/bin/env python3
"""Writes grafana-dashboard.json beside this file (run by hand after editing; committed).

Panels: throughput, latency percentiles from the histograms, errors, HTTP codes, batch
sizes, readiness, prediction-log (store) health and process resources. The datasource is
the variable ${datasource}, so the dashboard provisions into any Grafana."""
import json
from pathlib import Path

DS = {"type": "prometheus", "uid": "${datasource}"}


def panel(pid, title, targets, x, y, unit="short", w=12, h=8):
    return {"id": pid, "type": "timeseries", "title": title, "datasource": DS,
            "gridPos": {"x": x, "y": y, "w": w, "h": h},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "targets": [{"datasource": DS, "refId": chr(65 + i), "expr": e, "legendFormat": l}
                        for i, (e, l) in enumerate(targets)]}


def quantile(q):
    return (f"histogram_quantile({q}, sum by (le, model) "
            f"(rate(inferd_inference_duration_seconds_bucket{{model=~\"$model\"}}[5m])))",
            f"p{int(q * 100)} {{{{model}}}}")


panels = [
    panel(1, "Throughput (requests/s)",
          [("sum by (model) (rate(inferd_inference_requests_total{model=~\"$model\"}[1m]))",
            "{{model}}")], 0, 0, "reqps"),
    panel(2, "Latency percentiles", [quantile(0.5), quantile(0.95), quantile(0.99)], 12, 0, "s"),
    panel(3, "Errors by reason (requests/s)",
          [("sum by (model, reason) (rate(inferd_inference_failures_total{model=~\"$model\"}[5m]))",
            "{{model}} {{reason}}")], 0, 8, "reqps"),
    panel(4, "HTTP responses by code",
          [("sum by (code) (rate(inferd_http_requests_total[1m]))", "{{code}}")], 12, 8, "reqps"),
    panel(5, "Rows per request (median, p99)",
          [("histogram_quantile(0.5, sum by (le, model) "
            "(rate(inferd_inference_batch_size_bucket{model=~\"$model\"}[5m])))", "p50 {{model}}"),
           ("histogram_quantile(0.99, sum by (le, model) "
            "(rate(inferd_inference_batch_size_bucket{model=~\"$model\"}[5m])))", "p99 {{model}}")],
          0, 16),
    panel(6, "Ready replicas and models",
          [("sum(inferd_ready)", "ready replicas"),
           ("sum by (model) (inferd_model_ready{model=~\"$model\"})", "{{model}} versions ready")],
          12, 16),
    panel(7, "Store health: prediction log",
          [("sum(inferd_prediction_log_queue_depth)", "queued"),
           ("sum(rate(inferd_prediction_log_written_total[1m]))", "written/s"),
           ("sum(rate(inferd_prediction_log_spooled_total[1m]))", "spooled/s"),
           ("sum(rate(inferd_prediction_log_replayed_total[1m]))", "replayed/s"),
           ("sum(rate(inferd_prediction_log_dropped_total[1m]))", "dropped/s"),
           ("sum(rate(inferd_prediction_log_write_errors_total[1m]))", "write errors/s")], 0, 24),
    panel(8, "Spool size", [("sum(inferd_prediction_log_spool_bytes)", "bytes")], 12, 24, "bytes"),
    panel(11, "Drift: PSI per feature (0.2 = drift)",
          [("max by (model, version, feature) (inferd_drift_psi{model=~\"$model\"})",
            "{{model}} v{{version}} {{feature}}")], 0, 40),
    panel(12, "Drift detected and live quality",
          [("max by (model, version) (inferd_drift_detected{model=~\"$model\"})",
            "drift {{model}} v{{version}}"),
           ("min by (model, version, metric) (inferd_live_metric{model=~\"$model\"})",
            "{{metric}} {{model}} v{{version}}")], 12, 40),
    panel(9, "Resident memory", [("process_resident_memory_bytes", "{{pod}}")], 0, 32, "bytes"),
    panel(10, "CPU (cores)", [("rate(process_cpu_seconds_total[1m])", "{{pod}}")], 12, 32),
]

dashboard = {
    "uid": "inferd-overview", "title": "inferd", "tags": ["inferd", "mlops"],
    "timezone": "browser", "schemaVersion": 38, "version": 1, "refresh": "30s",
    "time": {"from": "now-1h", "to": "now"},
    "templating": {"list": [
        {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"},
        {"name": "model", "type": "query", "datasource": DS, "label": "Model",
         "query": {"query": "label_values(inferd_inference_requests_total, model)", "refId": "M"},
         "includeAll": True, "multi": True, "allValue": ".*", "refresh": 2},
    ]},
    "panels": panels,
}
out = Path(__file__).with_name("grafana-dashboard.json")
out.write_text(json.dumps(dashboard, indent=2) + "\n")

"""Prometheus metrics: valid exposition (promtool), Triton's names, and a real Prometheus
scraping inferd and reading the request count back through its HTTP API."""
import collections
import shutil
import socket
import subprocess
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

GOOD = {"inputs": [{"name": "input__0", "shape": [2, 4], "datatype": "FP32",
                    "data": [5.1, 3.5, 1.4, 0.2, 6.2, 2.9, 4.3, 1.3]}]}


def series(text, name, **labels):
    """The value of one series in exposition text, or None."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}} ") or (not labels and line.startswith(name + " ")):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_pass_promtool_and_count_requests(server):
    for _ in range(5):
        assert requests.post(server.url + "/v2/models/iris/infer", json=GOOD).status_code == 200
    assert requests.post(server.url + "/v1/models/iris:predict",
                         json={"instances": [[1, 2, 3, 4]]}).status_code == 200
    bad = dict(GOOD, inputs=[dict(GOOD["inputs"][0], shape=[1, 4])])
    assert requests.post(server.url + "/v2/models/iris/infer", json=bad).status_code == 400
    r = requests.get(server.url + "/metrics")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = r.text
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True)
    assert check.returncode == 0 and check.stdout.strip() == "" and check.stderr.strip() == "", \
        check.stdout + check.stderr
    assert series(text, "inferd_inference_requests_total", model="iris", version="1") == 6
    assert series(text, "inferd_inference_rows_total", model="iris", version="1") == 11
    assert series(text, "inferd_inference_executions_total", model="iris", version="1") == 6
    assert series(text, "inferd_inference_failures_total", model="iris", version="1",
                  reason="REJECTED") == 1
    assert series(text, "inferd_inference_request_duration_seconds_total", model="iris",
                  version="1") > 0
    assert series(text, "inferd_inference_duration_seconds_count", model="iris", version="1",
                  protocol="v2") == 5
    assert series(text, "inferd_inference_batch_size_bucket", model="iris", version="1",
                  le="2") == 6
    assert series(text, "inferd_http_requests_total", route="/v2/models/{model}/infer",
                  code="200") == 5
    assert series(text, "inferd_http_requests_total", route="/v2/models/{model}/infer",
                  code="400") == 1
    assert series(text, "inferd_model_ready", model="iris", version="1") == 1
    assert series(text, "inferd_ready") == 1
    assert 0 < series(text, "inferd_model_load_duration_seconds", model="iris", version="1") < 10
    assert series(text, "inferd_prediction_log_dropped_total") == 0
    assert series(text, "process_resident_memory_bytes") > 1e6
    assert series(text, "process_open_fds") > 3
    assert series(text, "inferd_build_info", version="0.1.0") == 1

    # Triton's names, for Triton dashboards, from the same counters.
    triton = requests.get(server.url + "/metrics/triton").text
    assert series(triton, "nv_inference_request_success", model="iris", version="1") == 6
    assert series(triton, "nv_inference_count", model="iris", version="1") == 11  # rows
    assert series(triton, "nv_inference_exec_count", model="iris", version="1") == 6
    assert series(triton, "nv_inference_request_failure", model="iris", version="1",
                  reason="REJECTED") == 1
    assert series(triton, "nv_inference_request_duration_us", model="iris", version="1") == \
        pytest.approx(1e6 * series(text, "inferd_inference_request_duration_seconds_total",
                                   model="iris", version="1"))
    assert series(triton, "nv_inference_compute_infer_duration_us", model="iris", version="1") > 0
    assert series(triton, "nv_inference_queue_duration_us", model="iris", version="1") == 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def prometheus(tmp_path):
    """Starts Debian's Prometheus; yields a function that points it at a target."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is missing: run scripts/install-deps.sh")
    procs = []

    def start(target):
        port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            f"  - job_name: inferd\n    static_configs: [{{targets: ['{target}']}}]\n"
            f"  - job_name: inferd-triton\n    metrics_path: /metrics/triton\n"
            f"    static_configs: [{{targets: ['{target}']}}]\n")
        procs.append(subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(url + "/-/ready", timeout=1).status_code == 200:
                    return url
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise RuntimeError("Prometheus did not start")

    yield start
    for p in procs:
        p.terminate()
        p.wait(30)


def test_a_real_prometheus_reads_the_same_count(server, prometheus):
    sent = 37
    for _ in range(sent):
        assert requests.post(server.url + "/v2/models/iris/infer", json=GOOD).status_code == 200
    url = prometheus(f"127.0.0.1:{server.port}")
    for query in ('inferd_inference_requests_total{job="inferd",model="iris",version="1"}',
                  'nv_inference_request_success{job="inferd-triton",model="iris",version="1"}'):
        deadline = time.monotonic() + 30
        value = None
        while time.monotonic() < deadline:
            result = requests.get(url + "/api/v1/query", params={"query": query}).json()
            if result["status"] == "success" and result["data"]["result"]:
                value = float(result["data"]["result"][0]["value"][1])
                if value == sent:
                    break
            time.sleep(0.5)
        assert value == sent, query


def test_metrics_port(start_server):
    port = free_port()
    server = start_server("--metrics-port", str(port))
    assert any(f"metrics on 127.0.0.1:{port}" in line for line in server.log)
    r = requests.get(f"http://127.0.0.1:{port}/metrics")
    assert r.status_code == 200 and "inferd_build_info" in r.text
    triton = requests.get(f"http://127.0.0.1:{port}/metrics/triton")
    assert "# TYPE nv_inference_request_success counter" in triton.text
    assert requests.get(f"http://127.0.0.1:{port}/v2/health/ready").status_code == 404
    assert requests.get(server.url + "/metrics").status_code == 200


def series_once(url):
    """{(name, sorted labels): value} of the exposition at `url`, read by prometheus_client's
    parser, after checking that no series (name and labels) appears twice."""
    seen = collections.defaultdict(list)
    for family in text_string_to_metric_families(requests.get(url).text):
        for sample in family.samples:
            seen[(sample.name, tuple(sorted(sample.labels.items())))].append(sample.value)
    repeated = {key: values for key, values in seen.items() if len(values) != 1}
    assert repeated == {}, url
    return {key: values[0] for key, values in seen.items()}


def key(name, **labels):
    return (name, tuple(sorted(labels.items())))


def infer_over_connections(server, connections=4, per_connection=5, bad_per_connection=1):
    """Sends inferences over several keep-alive connections (inferd hands new connections to
    its I/O threads in turn, so with --threads 2 both threads serve the model); returns
    (good, bad) request counts."""
    bad_body = dict(GOOD, inputs=[dict(GOOD["inputs"][0], shape=[1, 4])])
    sessions = [requests.Session() for _ in range(connections)]
    for _ in range(per_connection):
        for session in sessions:
            assert session.post(server.url + "/v2/models/iris/infer", json=GOOD).status_code == 200
    for _ in range(bad_per_connection):
        for session in sessions:
            assert session.post(server.url + "/v2/models/iris/infer",
                                json=bad_body).status_code == 400
    for session in sessions:
        session.close()
    return connections * per_connection, connections * bad_per_connection


def test_every_series_appears_once_with_the_true_count(start_server):
    server = start_server("--threads", "2")
    good, bad = infer_over_connections(server)
    iris = {"model": "iris", "version": "1"}
    infer = "/v2/models/{model}/infer"

    value = series_once(server.url + "/metrics")
    assert value[key("inferd_inference_requests_total", **iris)] == good
    assert value[key("inferd_inference_rows_total", **iris)] == 2 * good
    assert value[key("inferd_inference_executions_total", **iris)] == good
    assert value[key("inferd_inference_failures_total", **iris, reason="REJECTED")] == bad
    assert value[key("inferd_inference_duration_seconds_count", **iris, protocol="v2")] == good
    assert value[key("inferd_inference_batch_size_count", **iris)] == good
    assert value[key("inferd_http_requests_total", route=infer, code="200")] == good
    assert value[key("inferd_http_requests_total", route=infer, code="400")] == bad
    seconds = value[key("inferd_inference_request_duration_seconds_total", **iris)]
    assert seconds > 0

    # prometheus_client names a counter's samples <family>_total.
    value = series_once(server.url + "/metrics/triton")
    assert value[key("nv_inference_request_success_total", **iris)] == good
    assert value[key("nv_inference_count_total", **iris)] == 2 * good
    assert value[key("nv_inference_exec_count_total", **iris)] == good
    assert value[key("nv_inference_request_failure_total", **iris, reason="REJECTED")] == bad
    assert value[key("nv_inference_request_failure_total", **iris, reason="BACKEND")] == 0
    assert value[key("nv_inference_request_duration_us_total", **iris)] == \
        pytest.approx(1e6 * seconds)


def prometheus_query(url, query):
    result = requests.get(url + "/api/v1/query", params={"query": query}).json()
    assert result["status"] == "success", result
    return result["data"]["result"]


def test_a_real_prometheus_scrape_of_two_io_threads(start_server, prometheus):
    server = start_server("--threads", "2")
    good, _ = infer_over_connections(server, connections=6, per_connection=7)
    url = prometheus(f"127.0.0.1:{server.port}")
    for job, query in (
            ("inferd", 'inferd_inference_requests_total{job="inferd",model="iris",version="1"}'),
            ("inferd-triton",
             'nv_inference_request_success{job="inferd-triton",model="iris",version="1"}')):
        deadline = time.monotonic() + 30
        result = []
        while time.monotonic() < deadline:
            result = prometheus_query(url, query)
            if result and float(result[0]["value"][1]) == good:
                break
            time.sleep(0.5)
        assert len(result) == 1 and float(result[0]["value"][1]) == good, (query, result)
        # The samples Prometheus read in its last scrape are as many as the distinct series
        # it stored from it: no line was a repeat of another.
        scraped = prometheus_query(url, f'scrape_samples_scraped{{job="{job}"}}')
        stored = prometheus_query(url, f'count({{job="{job}",__name__!~"up|scrape_.*"}})')
        assert scraped and stored
        assert scraped[0]["value"][1] == stored[0]["value"][1], (job, scraped, stored)

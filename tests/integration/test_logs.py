"""Logs: JSON lines with Elastic Common Schema names on stdout, trace ids from W3C
traceparent, sampling, and no bodies or secrets."""
import json
from datetime import datetime

import requests

BODY = {"inputs": [{"name": "input__0", "shape": [1, 4], "datatype": "FP32",
                    "data": [5.123456, 3.5, 1.4, 0.2]}]}
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def json_lines(server):
    lines = [json.loads(line) for line in server.log if line.startswith("{")]
    assert len(lines) == len([l for l in server.log if l.strip()]), "every line is JSON"
    return lines


def test_access_lines_use_ecs_names(start_server):
    server = start_server(env={"INFERD_ADMIN_TOKEN": "sekrit-token-value"})
    r = requests.post(server.url + "/v2/models/iris/infer", json=BODY,
                      headers={"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01",
                               "Authorization": "Bearer sekrit-token-value"})
    assert r.status_code == 200
    assert requests.get(server.url + "/nope").status_code == 404
    server.stop()
    lines = json_lines(server)
    for line in lines:
        assert {"@timestamp", "log.level", "message", "service.name"} <= set(line)
        assert line["service.name"] == "inferd"
        # The Time_Format of deploy/monitoring/parsers.conf (%Y-%m-%dT%H:%M:%S.%LZ).
        datetime.strptime(line["@timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
    access = [l for l in lines if l.get("event.dataset") == "inferd.access"]
    infer = next(l for l in access if l["url.path"] == "/v2/models/iris/infer")
    assert infer["http.request.method"] == "POST"
    assert infer["http.response.status_code"] == 200
    assert infer["trace.id"] == TRACE
    assert infer["model"] == "iris"
    assert infer["event.duration"] > 0
    missing = next(l for l in access if l["url.path"] == "/nope")
    assert missing["http.response.status_code"] == 404 and len(missing["trace.id"]) == 32
    text = "".join(server.log)
    assert "sekrit-token-value" not in text and "5.123456" not in text


def test_sampling_keeps_errors(start_server):
    server = start_server("--access-log-sample-rate", "0.0001")
    for _ in range(20):
        requests.post(server.url + "/v2/models/iris/infer", json=BODY)
    requests.get(server.url + "/nope")
    server.stop()
    access = [l for l in json_lines(server) if l.get("event.dataset") == "inferd.access"]
    # 20 successes at a 1-in-10,000 rate: almost surely none logged (at most one); the
    # error always is.
    assert sum(l["http.response.status_code"] == 200 for l in access) <= 1
    assert [l["url.path"] for l in access if l["http.response.status_code"] == 404] == ["/nope"]

"""Signals operators need: /metrics across processes, structured logs with a request id web to worker."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import time

import httpx

from testkit.processes import ROOT
from testkit.upstream import make_query, simulate


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels`."""
    total = 0.0
    for sample_name, label_text, value in re.findall(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$", text, re.MULTILINE):
        found = dict(re.findall(r'(\w+)="([^"]*)"', label_text))
        if sample_name == name and labels.items() <= found.items():
            total += float(value)
    return total


def test_metrics_count_across_web_workers_and_from_redis(stack_factory, simulator):
    stack = stack_factory(WEB_WORKERS="2")
    simulate(simulator, fail_first=1, fail_status=503)
    query = make_query()
    entry_id = stack.request(query)["id"]
    assert httpx.get(f"{stack.url}/image/{entry_id}", timeout=30).status_code == 200
    stack.request(query)
    for _ in range(20):  # a new connection each: they land on either gunicorn worker
        httpx.get(stack.url + "/health/live")
    text = httpx.get(stack.url + "/metrics").text
    count = "imagecache_http_request_duration_seconds_count"
    assert metric(text, count, route="/health/live") >= 20  # the test's 20 and the stack's start-up probes
    assert metric(text, count, route="/requests", method="POST", status="200") == 2
    assert metric(text, count, route="/image/{entry_id}", status="200") == 1
    assert metric(text, "imagecache_misses_total") == 1 and metric(text, "imagecache_hits_total") == 1
    assert metric(text, "imagecache_upstream_calls_total") == 2
    assert metric(text, "imagecache_upstream_retries_total") == 1
    assert metric(text, "imagecache_upstream_failures_total") == 1
    assert metric(text, "imagecache_entries", status="active") == 1
    assert metric(text, "imagecache_upstream_fetch_seconds_count") == 1
    assert metric(text, "imagecache_stored_bytes", kind="images") > 0
    assert "imagecache_queue_depth" in text and "imagecache_live_workers" in text
    assert "imagecache_redis_up 1.0" in text
    used = set()
    for path in ("deploy/prometheus/alerts.yml", "deploy/grafana/imagecache.json"):
        used |= set(re.findall(r"\bimagecache_[a-z_]+", (ROOT / path).read_text()))
    exposed = set(re.findall(r"^(imagecache_[a-z_]+)", text, re.MULTILINE))
    assert used - exposed == set(), "the dashboard or the alerts read figures /metrics does not give"


def test_json_logs_carry_one_request_id_from_web_to_worker(stack_factory, simulator):
    stack = stack_factory(LOG_FORMAT="json")
    simulate(simulator)
    response = httpx.post(
        stack.url + "/requests", json={"api_query": make_query()}, headers={"X-Request-ID": "trace-4711"}
    )
    assert response.headers["x-request-id"] == "trace-4711"
    entry_id = response.json()["id"]
    assert httpx.get(f"{stack.url}/image/{entry_id}", timeout=30).status_code == 200
    records = {}
    for part in ("web", "worker"):
        lines = [line for line in stack.parts[part].log().splitlines() if line.startswith("{")]
        records[part] = [json.loads(line) for line in lines]
        assert records[part] and all(
            {"time", "level", "logger", "message", "request_id"} <= set(r) for r in records[part]
        )
    assert any(r["request_id"] == "trace-4711" and entry_id in r["message"] for r in records["web"])
    assert any(r["request_id"] == "trace-4711" and entry_id in r["message"] for r in records["worker"])


def test_unsafe_request_ids_are_replaced(stack_factory):
    stack = stack_factory(parts=("web",))
    response = httpx.get(stack.url + "/health/live", headers={"X-Request-ID": "bad id\twith tabs"})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_a_burst_of_stop_signals_stops_the_worker_and_maintenance_within_seconds(stack_factory):
    """A second SIGTERM arriving while the first one's handler runs once left a process waiting forever on a lock its
    own thread held (a supervisor and an orchestrator may both signal; Ctrl-C reaches the whole group)."""
    for round_ in range(3):
        stack = stack_factory()
        for part in ("worker", "maintenance"):
            process = stack.parts[part]
            began = time.monotonic()
            while process.alive() and time.monotonic() - began < 2:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM if round_ % 2 else signal.SIGINT)
            process.popen.wait(15)  # raises TimeoutExpired if it hangs
            stopped = time.monotonic() - began  # (a signal landing as it exits may end it: its code is no measure)
            assert stopped < 10, (part, stopped, process.log()[-2000:])

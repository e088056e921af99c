"""The Kentik simulator as tests and benchmarks drive it, and queries to send it."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from testkit.processes import Process, free_port, http_ok, wait_until

QUERY = {
    "queries": [
        {
            "bucket": "Left +Y Axis",
            "isOverlay": False,
            "query": {
                "metric": ["bytes"],
                "dimension": ["Traffic"],
                "lookback_seconds": 3600,
                "topx": 8,
                "viz_type": "stackedArea",
                "aggregateTypes": ["avg_bits_per_sec"],
            },
        }
    ],
    "imageType": "png",
}


def make_query(image_type: str = "png", **overrides: object) -> dict:
    """A distinct Kentik-shaped query; overrides go into the inner query."""
    inner = {**QUERY["queries"][0]["query"], "descriptor": uuid.uuid4().hex, **overrides}
    return {"queries": [{**QUERY["queries"][0], "query": inner}], "imageType": image_type}


def start_simulator(log_path: Path) -> tuple[Process, str]:
    port = free_port()
    process = Process(["simulate-upstream", "--port", str(port)], {}, log_path)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: http_ok(url + "/_sim/stats"), 30, "the simulator")
    return process, url


def simulate(simulator: str, **behaviour: object) -> None:
    """Reset the simulator's counters and set its behaviour (defaults unless given)."""
    settings = {"latency_ms": 0, "fail_first": 0, "fail_status": 503, "pad_to": 0, "garbage": "", **behaviour}
    httpx.post(simulator + "/_sim/reset", json=settings).raise_for_status()


def behave(simulator: str, **behaviour: object) -> None:
    """Change the simulator's behaviour from the next call on, its counters kept."""
    httpx.post(simulator + "/_sim/behaviour", json=behaviour).raise_for_status()


def upstream_stats(simulator: str) -> dict:
    return httpx.get(simulator + "/_sim/stats").json()


def kentik_env(redis_url: str, simulator: str) -> dict[str, str]:
    return {
        "REDIS_URL": redis_url,
        "KT_AUTH_EMAIL": "tester@example.com",
        "KT_AUTH_TOKEN": "kentik-secret-token",
        "KENTIK_API_URL": simulator,
        "KENTIK_API_RETRIES": "2",
        "KENTIK_API_TIMEOUT": "5",
    }

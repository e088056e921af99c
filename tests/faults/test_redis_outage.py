"""Redis goes away and comes back: clear 503s meanwhile, full recovery after, no restart."""

from __future__ import annotations

import time

import httpx

from testkit.processes import wait_until
from testkit.redis_server import OwnRedis
from testkit.upstream import make_query, simulate, upstream_stats


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_redis_outage_answers_503_fast_and_recovers_with_aof(stack_factory, simulator, tmp_path):
    redis = OwnRedis(tmp_path / "redis").start()
    try:
        stack = stack_factory(REDIS_URL=redis.url)
        simulate(simulator, latency_ms=2500)
        entry_id = stack.request(make_query())["id"]
        wait_until(lambda: upstream_stats(simulator)["calls"] == 1, 10, "the fetch to start")
        redis.stop()

        for call in (
            lambda: httpx.get(stack.url + "/info", timeout=5),
            lambda: httpx.post(stack.url + "/requests", json={"api_query": make_query()}, timeout=5),
            lambda: httpx.get(f"{stack.url}/image/{entry_id}", timeout=5),
            lambda: httpx.get(stack.url + "/health", timeout=5),
        ):
            response, took = timed(call)
            assert response.status_code == 503 and took < 1.5, (response.status_code, took)
            assert response.json()
        health = httpx.get(stack.url + "/health").json()
        assert health["down"] == ["redis"]
        assert httpx.get(stack.url + "/health/live").status_code == 200
        scraped = httpx.get(stack.url + "/metrics", timeout=5)  # what the Redis alert reads: still answered
        assert scraped.status_code == 200 and "imagecache_redis_up 0.0" in scraped.text

        time.sleep(3)  # the fetch finishes while Redis is away
        redis.start()
        wait_until(lambda: httpx.get(stack.url + "/health").status_code == 200, 15, "recovery")
        response = httpx.get(f"{stack.url}/image/{entry_id}", timeout=90)
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        fresh = stack.request(make_query())
        assert httpx.get(f"{stack.url}/image/{fresh['id']}", timeout=60).status_code == 200
        assert "Traceback" not in stack.parts["web"].log()  # every failure was answered, none escaped
    finally:
        redis.stop()

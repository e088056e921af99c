"""A worker-side process started while Redis is away waits for it, saying so, and starts once it answers."""

from __future__ import annotations

import pytest

from testkit.processes import Process, wait_until
from testkit.redis_server import OwnRedis

STARTED_WITHIN = 10.0  # seconds from Redis answering to the process at work


@pytest.mark.parametrize(("part", "ready"), [("worker", "slots on queue"), ("maintenance", "maintenance: every")])
def test_a_process_started_before_redis_waits_then_starts(tmp_path, part, ready):
    redis = OwnRedis(tmp_path / "redis", appendonly=False)
    env = {"REDIS_URL": redis.url, "CACHE_PATH": str(tmp_path / "cache"), "REDIS_PREFIX": "startup:"}
    process = Process([part], env, tmp_path / f"{part}.log")
    try:
        wait_until(lambda: "waiting for Redis: ConnectionError" in process.log(), 15, "the wait to be logged")
        assert process.alive()
        redis.start()
        wait_until(lambda: ready in process.log(), STARTED_WITHIN, f"{part} to start")
        assert "Traceback" not in process.log()
    finally:
        process.stop()
        redis.stop()

"""Recovery scenarios on a live stack, each returning what it measured: the fault tests assert on these
figures with generous bounds, bench/recovery.py prints them."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
from redis import Redis

from testkit.processes import wait_until
from testkit.redis_server import OwnRedis
from testkit.stack import Stack
from testkit.upstream import make_query, simulate, upstream_stats

# What production runs with: recovery must not lean on short test timings, and all 10 fetches run at once.
PRODUCTION_SETTINGS = {"CACHE_MAINTENANCE_PERIOD": "60", "WORKER_CONCURRENCY": "16"}


@dataclass(frozen=True)
class Recovered:
    seconds: float  # from the fault's end (restart, kill, Redis back) to what the scenario waits for
    upstream_calls: int
    most_attempts: int  # the largest number of attempts any one entry took
    served: int  # entries served 200 in the end


def restart_with_pending(stack: Stack, simulator: str, redis: Redis, latency_ms: int, pending: int = 10) -> Recovered:
    """Every part SIGKILLed while `pending` fetches run, then started again: until all are served."""
    simulate(simulator, latency_ms=latency_ms)
    ids = [stack.request(make_query())["id"] for _ in range(pending)]
    wait_until(lambda: _calls(simulator) == pending, 15, "every fetch to start")
    stack.kill()
    restarted = time.monotonic()
    stack.start()
    with ThreadPoolExecutor(pending) as pool:
        statuses = list(pool.map(lambda i: httpx.get(f"{stack.url}/image/{i}", timeout=90).status_code, ids))
    return Recovered(
        time.monotonic() - restarted, _calls(simulator), _most_attempts(redis, stack, ids), statuses.count(200)
    )


def worker_killed_mid_fetch(stack: Stack, simulator: str, redis: Redis, latency_ms: int) -> Recovered:
    """A worker process SIGKILLed mid-fetch while another runs: until the entry's second fetch starts."""
    simulate(simulator, latency_ms=latency_ms)
    entry_id = stack.request(make_query())["id"]
    wait_until(lambda: _calls(simulator) == 1, 10, "the fetch to start")
    doomed = stack.parts["worker"]
    stack.start_part("worker")
    doomed.kill()
    killed = time.monotonic()
    wait_until(lambda: _calls(simulator) == 2, 150, "the entry to be picked up again")
    seconds = time.monotonic() - killed
    served = httpx.get(f"{stack.url}/image/{entry_id}", timeout=60).status_code == 200
    return Recovered(seconds, _calls(simulator), _most_attempts(redis, stack, [entry_id]), int(served))


def redis_outage_mid_fetch(
    stack: Stack, simulator: str, own_redis: OwnRedis, latency_ms: int, outage: float = 5.0
) -> Recovered:
    """Redis stopped for `outage` seconds while a fetch runs: from Redis back until the entry is served."""
    simulate(simulator, latency_ms=latency_ms)
    entry_id = stack.request(make_query())["id"]
    wait_until(lambda: _calls(simulator) == 1, 10, "the fetch to start")
    own_redis.stop()
    time.sleep(outage)
    own_redis.start()
    back = time.monotonic()
    wait_until(lambda: _status(stack, entry_id) == "active", 60, "the entry to be served")
    seconds = time.monotonic() - back
    served = httpx.get(f"{stack.url}/image/{entry_id}", timeout=60).status_code == 200
    return Recovered(
        seconds, _calls(simulator), _most_attempts(Redis.from_url(own_redis.url), stack, [entry_id]), int(served)
    )


def _calls(simulator: str) -> int:
    return upstream_stats(simulator)["calls"]


def _most_attempts(redis: Redis, stack: Stack, ids: list[str]) -> int:
    prefix = stack.env["REDIS_PREFIX"]
    return max(int(redis.hget(f"{prefix}entry:{i}", "attempts") or 0) for i in ids)


def _status(stack: Stack, entry_id: str) -> str | None:
    try:
        return httpx.get(f"{stack.url}/requests/{entry_id}", timeout=5).json().get("status")
    except (httpx.HTTPError, ValueError):
        return None

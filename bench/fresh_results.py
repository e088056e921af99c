"""The cost of a fresh result: CPU of every server process and of Redis, and Redis commands, per result.

300 distinct new queries from 16 clients (POST, then GET the image), the simulator answering at once, so
what is measured is our bookkeeping, not the upstream. CPU is read from /proc for every process in each
part's process group (gunicorn's workers included); Redis's from INFO cpu and INFO commandstats.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import httpx
from redis import Redis

from bench.harness import REDIS_URL, environment, figure
from testkit.upstream import make_query, simulate

QUERIES, CLIENTS = 300, 16
TICK = os.sysconf("SC_CLK_TCK")


def group_cpu_seconds(pgid: int) -> float:
    """user + system CPU of the live processes in a process group."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the name: state, ppid, pgrp, ...
            total += int(fields[11]) + int(fields[12])
    return total / TICK


def redis_cpu_seconds(redis: Redis) -> float:
    cpu = redis.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def redis_commands(redis: Redis) -> Counter[str]:
    return Counter(
        {name.removeprefix("cmdstat_"): stats["calls"] for name, stats in redis.info("commandstats").items()}
    )


_clients = threading.local()


class FreshResult(NamedTuple):
    status: int  # the image's
    posted_ms: float  # to the POST's answer
    total_ms: float  # to the image


def produce_one(url: str) -> FreshResult:
    """POST a new query, GET its image: each load thread keeps its connection to each stack, as a service calling
    us would."""
    clients = getattr(_clients, "by_url", None)
    if clients is None:
        clients = _clients.by_url = {}
    client = clients.get(url)
    if client is None:
        client = clients[url] = httpx.Client(base_url=url, timeout=60)
    started = time.perf_counter()
    entry = client.post("/requests", json={"api_query": make_query()})  # distinct: a new descriptor each
    posted = time.perf_counter()
    status = client.get(f"/image/{entry.json()['id']}").status_code
    return FreshResult(status, (posted - started) * 1000, (time.perf_counter() - started) * 1000)


def main() -> None:
    env = {"WORKER_CONCURRENCY": "16", "CACHE_MAINTENANCE_PERIOD": "60"}
    with environment(**env) as bench:
        simulate(bench.simulator, latency_ms=0)
        redis = Redis.from_url(REDIS_URL, decode_responses=True)
        parts = {name: process.pid for name, process in bench.stack.parts.items()}
        produce_one(bench.stack.url)  # warm: connections, scripts, the first render
        cpu_before = {name: group_cpu_seconds(pid) for name, pid in parts.items()}
        redis_before = redis_cpu_seconds(redis)
        redis.config_resetstat()
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = [result.status for result in pool.map(lambda _: produce_one(bench.stack.url), range(QUERIES))]
        wall = time.perf_counter() - started
        cpu = {name: group_cpu_seconds(pid) - cpu_before[name] for name, pid in parts.items()}
        redis_cpu = redis_cpu_seconds(redis) - redis_before
        commands = redis_commands(redis)
    per = 1000 / QUERIES
    rate = QUERIES / wall
    figure(
        f"{QUERIES} fresh results, {CLIENTS} clients, one worker", f"{rate:.0f} results/s ({statuses.count(200)} x 200)"
    )
    figure("  (aim >= 200/s)", "against the Kentik Image Cache: python -m bench.versus_kentik")
    total_ms = (sum(cpu.values()) + redis_cpu) * per
    figure(
        "CPU per fresh result, with Redis",
        f"{total_ms:.1f} ms (aim <= 5 ms)",
    )
    for name, seconds in cpu.items():
        figure(f"  {name}", f"{seconds * per:.1f} ms")
    figure("  Redis", f"{redis_cpu * per:.1f} ms")
    figure("Redis commands per fresh result", f"{sum(commands.values()) / QUERIES:.0f} (aim <= 30)")
    top = ", ".join(f"{name} {calls / QUERIES:.1f}" for name, calls in commands.most_common(10))
    figure("  most called, per result", top)


if __name__ == "__main__":
    main()

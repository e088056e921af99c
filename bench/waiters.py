"""500 GETs waiting on pending entries: /health latency meanwhile, and Redis connections used."""

from __future__ import annotations

import asyncio
import threading

import aiohttp
from redis import Redis

from bench.harness import REDIS_URL, describe, environment, figure, percentile, probe_health
from testkit.upstream import make_query, simulate

WAITERS, ENTRIES, PROBES = 500, 10, 300


def hold_waiters(url: str, ids: list[str], ready: threading.Event, done: threading.Event) -> None:
    async def run() -> None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            tasks = [asyncio.create_task(session.get(f"{url}/image/{ids[n % len(ids)]}")) for n in range(WAITERS)]
            await asyncio.sleep(3)  # let every request reach the server and start waiting
            ready.set()
            while not done.is_set():
                await asyncio.sleep(0.1)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(run())


def main() -> None:
    with environment(ENTRY_WAIT_TIMEOUT="120", WORKER_CONCURRENCY="2", WAITS_PER_CLIENT=str(WAITERS)) as bench:
        simulate(bench.simulator, latency_ms=60_000)  # entries stay pending throughout
        ids = [bench.stack.request(make_query())["id"] for _ in range(ENTRIES)]
        redis = Redis.from_url(REDIS_URL)
        idle_clients = len(redis.client_list())
        ready, done = threading.Event(), threading.Event()
        holder = threading.Thread(target=hold_waiters, args=(bench.stack.url, ids, ready, done))
        holder.start()
        ready.wait(60)
        pending = bench.stack.info()["pending_count"]
        latencies = probe_health(bench.stack.url, PROBES)
        busy_clients = len(redis.client_list())
        done.set()
        holder.join()
    figure(f"/health with {WAITERS} GETs waiting on {pending} pending", describe(latencies))
    figure("/health p99 (aim < 25 ms)", f"{percentile(latencies, 99):.1f} ms")
    figure("Redis connections idle -> with waiters", f"{idle_clients} -> {busy_clients}")


if __name__ == "__main__":
    main()

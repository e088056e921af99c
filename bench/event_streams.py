"""1000 open event streams (GET /events, 40 entries each, as 1000 dashboards of 40 charts): /health latency
meanwhile against /health with none open (the same-run reference), the Redis connections they cost, and how
soon each settled entry reached every stream (an event's arrival minus its entry's completed_at)."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import aiohttp
import httpx
from redis import Redis

from bench.harness import REDIS_URL, describe, environment, figure, percentile, probe_health
from testkit.upstream import make_query, simulate

STREAMS, ENTRIES, PROBES = 1000, 40, 300
SETTLE_AFTER_MS = 8000  # the entries stay pending while /health is probed, then all land


def hold_streams(url: str, ids: list[str], ready: threading.Event, arrivals: list[tuple[float, str]]) -> None:
    """Open every stream, say so, then read each to its end, noting when each event arrived."""

    async def listen(session: aiohttp.ClientSession, opened: list[int]) -> None:
        async with session.get(f"{url}/events", params=[("id", i) for i in ids]) as response:
            opened.append(response.status)
            async for line in response.content:
                if line.startswith(b"data: ") and b'"status"' in line:
                    arrivals.append((time.time(), json.loads(line[6:])["id"]))

    async def run() -> None:
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as session:
            opened: list[int] = []
            tasks = [asyncio.create_task(listen(session, opened)) for _ in range(STREAMS)]
            while len(opened) < STREAMS:
                await asyncio.sleep(0.1)
            ready.set()
            await asyncio.gather(*tasks)

    asyncio.run(run())


def main() -> None:
    env = {
        "ENTRY_WAIT_TIMEOUT": "120",
        "KENTIK_API_TIMEOUT": "30",
        "WORKER_CONCURRENCY": "40",
        "WAITS_PER_CLIENT": "1000",
    }
    with environment(**env, UPSTREAM_MAX_CONCURRENCY="40") as bench:
        url = bench.stack.url
        reference = probe_health(url, PROBES)
        simulate(bench.simulator, latency_ms=SETTLE_AFTER_MS)
        ids = [bench.stack.request(make_query())["id"] for _ in range(ENTRIES)]
        redis = Redis.from_url(REDIS_URL)
        idle_clients = len(redis.client_list())
        ready, arrivals = threading.Event(), []
        holder = threading.Thread(target=hold_streams, args=(url, ids, ready, arrivals))
        started = time.monotonic()
        holder.start()
        ready.wait(60)
        opened_in = time.monotonic() - started
        during = probe_health(url, PROBES)
        busy_clients = len(redis.client_list())
        holder.join(120)
        completed = {i: httpx.get(f"{url}/requests/{i}", timeout=10).json().get("completed_at", 0) for i in ids}
    delays = [(arrived - completed[i]) * 1000 for arrived, i in arrivals if completed.get(i)]
    figure(f"{STREAMS} streams of {ENTRIES} entries opened", f"in {opened_in:.1f} s")
    figure("/health, no streams open (reference)", describe(reference))
    figure(f"/health, {STREAMS} streams open", describe(during))
    p99, reference_p99 = percentile(during, 99), percentile(reference, 99)
    figure("/health p99 (aim <= 10 ms)", f"{p99:.1f} ms; ratio to the reference p99 {p99 / reference_p99:.2f}")
    figure("Redis connections idle -> with streams", f"{idle_clients} -> {busy_clients}")
    figure(f"events received (of {STREAMS * ENTRIES})", f"{len(arrivals)}")
    figure("settled -> event at the client", describe(delays) if delays else "none")


if __name__ == "__main__":
    main()

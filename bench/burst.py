"""200 distinct new queries at once, simulator at 1 s, WORKER_CONCURRENCY=64: wall time.

The client is aiohttp: on two cores the load generator must cost little, or
it measures itself.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp

from bench.harness import environment, figure
from testkit.upstream import make_query, simulate, upstream_stats

QUERIES, LATENCY_MS, CONCURRENCY = 200, 1000, 64


async def fetch_all(url: str) -> list[int]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one() -> int:
            async with session.post(url + "/requests", json={"api_query": make_query()}) as created:
                entry_id = (await created.json())["id"]
            async with session.get(f"{url}/image/{entry_id}") as image:
                await image.read()
                return image.status

        return await asyncio.gather(*(one() for _ in range(QUERIES)))


def main() -> None:
    env = {"WORKER_CONCURRENCY": str(CONCURRENCY), "UPSTREAM_MAX_CONCURRENCY": str(CONCURRENCY)}
    with environment(**env) as bench:
        simulate(bench.simulator, latency_ms=LATENCY_MS)
        started = time.perf_counter()
        statuses = asyncio.run(fetch_all(bench.stack.url))
        wall = time.perf_counter() - started
        stats = upstream_stats(bench.simulator)
    floor = -(-QUERIES // CONCURRENCY) * LATENCY_MS / 1000
    figure(
        f"{QUERIES} new queries at once, upstream {LATENCY_MS} ms", f"{wall:.2f} s wall (aim <= {floor * 1.1:.1f} s)"
    )
    figure(f"  floor at {CONCURRENCY} in flight (reference)", f"{floor:.1f} s; wall/floor {wall / floor:.2f}")
    figure("  answered 200", f"{statuses.count(200)}/{QUERIES}")
    figure("  upstream calls, peak in flight", f"{stats['calls']}, {stats['peak_concurrency']}")


if __name__ == "__main__":
    main()

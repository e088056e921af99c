"""POST /requests for new queries: latency of one client in sequence over keep-alive, and POSTs/s at 16 clients.

Each POST is a new query, so each creates an entry and enqueues its job (the worker produces them meanwhile,
the simulator answering at once): the cost of accepting work, not of serving a hit.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from bench.harness import describe, environment, figure, percentile
from tests.support.upstream import make_query, simulate

SEQUENTIAL, PARALLEL, CLIENTS, WARMUP = 300, 2000, 16, 20


def post_new(client: httpx.Client) -> float:
    started = time.perf_counter()
    client.post("/requests", json={"api_query": make_query()}).raise_for_status()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    with environment(WORKER_CONCURRENCY="16") as bench:
        simulate(bench.simulator, latency_ms=0)
        with httpx.Client(base_url=bench.stack.url, timeout=30) as client:
            for _ in range(WARMUP):
                post_new(client)
            sequential = [post_new(client) for _ in range(SEQUENTIAL)]
        local = threading.local()

        def post_from_a_client(_: int) -> float:
            if not hasattr(local, "client"):
                local.client = httpx.Client(base_url=bench.stack.url, timeout=30)
            return post_new(local.client)

        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            parallel = list(pool.map(post_from_a_client, range(PARALLEL)))
        wall = time.perf_counter() - started
    figure("POST /requests, one client, sequential", describe(sequential))
    figure("  p50 (aim <= 1.5 ms)", f"{percentile(sequential, 50):.2f} ms")
    figure(f"POST /requests, {CLIENTS} clients", f"{PARALLEL / wall:,.0f} POST/s; {describe(parallel)}")


if __name__ == "__main__":
    main()

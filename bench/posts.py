"""POST /requests for new queries: latency of one client in sequence over keep-alive, and POSTs/s at 16 clients.

Each POST is a new query, so each creates an entry and enqueues its job, while the worker produces the earlier
ones (the simulator answering at once) on the same two cores. The reference, in the same run: GET /health/live
over the same connection (one HTTP round trip through gunicorn, Falcon and the client, no Redis). The POSTs are
first timed with the worker stopped: the POST path alone, without the production it starts competing for the
CPU.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from bench.harness import describe, environment, figure, percentile
from testkit.upstream import make_query, simulate

SEQUENTIAL, PARALLEL, CLIENTS, WARMUP = 300, 2000, 16, 20


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def post_new(client: httpx.Client) -> None:
    client.post("/requests", json={"api_query": make_query()}).raise_for_status()


def main() -> None:
    with environment(WORKER_CONCURRENCY="16") as bench:
        simulate(bench.simulator, latency_ms=0)
        with httpx.Client(base_url=bench.stack.url, timeout=30) as client:
            for _ in range(WARMUP):
                post_new(client)
            health = [timed(lambda: client.get("/health/live").raise_for_status()) for _ in range(SEQUENTIAL)]
            bench.stack.parts["worker"].stop()
            alone = [timed(lambda: post_new(client)) for _ in range(SEQUENTIAL)]
            bench.stack.start_part("worker")
            sequential = [timed(lambda: post_new(client)) for _ in range(SEQUENTIAL)]
            local = threading.local()

            def post_from_a_client(_: int) -> float:
                if not hasattr(local, "client"):
                    local.client = httpx.Client(base_url=bench.stack.url, timeout=30)
                return timed(lambda: post_new(local.client))

            started = time.perf_counter()
            with ThreadPoolExecutor(CLIENTS) as pool:
                parallel = list(pool.map(post_from_a_client, range(PARALLEL)))
            wall = time.perf_counter() - started
    floor = percentile(health, 50)
    figure("GET /health/live, one client (reference)", describe(health))
    figure("POST /requests, one client, sequential", describe(sequential))
    figure(
        "  p50 (aim <= 1.5 ms)",
        f"{percentile(sequential, 50):.2f} ms, {percentile(sequential, 50) / floor:.1f}x the reference",
    )
    figure("  with the worker stopped (the POST alone)", describe(alone))
    figure(f"POST /requests, {CLIENTS} clients", f"{PARALLEL / wall:,.0f} POST/s; {describe(parallel)}")


if __name__ == "__main__":
    main()

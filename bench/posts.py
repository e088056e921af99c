"""POST /requests for new queries: latency of one client in sequence over keep-alive, and POSTs/s at 16 clients.

Each POST is a new query, so each creates an entry and enqueues its job, while the worker produces the earlier
ones (the simulator answering at once) on the same two cores. The reference, in the same run: GET /health/live
over the same connection (one HTTP round trip through gunicorn, Falcon and the client, no Redis). The POSTs are
first timed with the worker stopped: the POST path alone, without the production it starts competing for the
CPU. Then all again on a stack where every request is a tenant's whose quotas are checked and charged (TENANTS with
`*`): what the quotas cost a POST.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

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


EVERY_QUOTA = {"TENANTS": "*: fresh_per_minute=100000000, pending=100000000"}  # checked and charged on each POST


@dataclass(frozen=True)
class Run:
    health: list[float]
    alone: list[float]
    sequential: list[float]
    parallel: list[float]
    wall: float


def measure(**env: str) -> Run:
    with environment(WORKER_CONCURRENCY="16", **env) as bench:
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
            return Run(health, alone, sequential, parallel, time.perf_counter() - started)


def main() -> None:
    plain, quotas = measure(), measure(**EVERY_QUOTA)
    floor = percentile(plain.health, 50)
    figure("GET /health/live, one client (reference)", describe(plain.health))
    figure("POST /requests, one client, sequential", describe(plain.sequential))
    figure(
        "  p50 (aim <= 1.5 ms)",
        f"{percentile(plain.sequential, 50):.2f} ms, {percentile(plain.sequential, 50) / floor:.1f}x the reference",
    )
    figure("  with the worker stopped (the POST alone)", describe(plain.alone))
    figure(f"POST /requests, {CLIENTS} clients", f"{PARALLEL / plain.wall:,.0f} POST/s; {describe(plain.parallel)}")
    figure("with every quota checked (TENANTS, '*'), the POST alone", describe(quotas.alone))
    ratio = percentile(quotas.alone, 50) / percentile(plain.alone, 50)
    figure("  p50 against without quotas (aim <= 1.1)", f"{ratio:.2f}")
    figure(f"  {CLIENTS} clients", f"{PARALLEL / quotas.wall:,.0f} POST/s ({plain.wall / quotas.wall:.2f}x without)")


if __name__ == "__main__":
    main()

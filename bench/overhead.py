"""Time a new query costs beyond the upstream's own latency (simulator at 300 ms).

Reference: the same client asking the simulator directly, in the same run. Beside it, what a request costs a
process that has sat idle: every process a fresh result passes through once the upstream answers (worker, Redis,
web) has waited the upstream's 300 ms, and on some machines waking each costs more than its work (caches gone
cold, a CPU to be scheduled); a direct call wakes one, the cache's path three or four.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import httpx

from bench.harness import UPSTREAM_AUTH, describe, environment, figure, percentile
from testkit.upstream import make_query, simulate

LATENCY_MS, SAMPLES, WARMUP, IDLE_MS = 300, 40, 5, 50


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def after_idle(call: Callable[[], object]) -> float:
    time.sleep(IDLE_MS / 1000)
    return timed(call)


def wake_cost(call: Callable[[], object]) -> str:
    """A request's p50 sent at once, and after the process has sat idle."""
    at_once = statistics.median(timed(call) for _ in range(SAMPLES))
    idle = statistics.median(after_idle(call) for _ in range(SAMPLES))
    return f"{at_once:.2f} | {idle:.2f} ms"


def main() -> None:
    with environment() as bench:
        simulate(bench.simulator, latency_ms=LATENCY_MS)
        with httpx.Client(timeout=30) as client:

            def directly() -> None:
                chart = bench.simulator + "/query/topXchart"
                client.post(chart, json=make_query(), headers=UPSTREAM_AUTH).raise_for_status()

            def through_cache() -> None:
                entry_id = client.post(bench.stack.url + "/requests", json={"api_query": make_query()}).json()["id"]
                client.get(f"{bench.stack.url}/image/{entry_id}").raise_for_status()

            for _ in range(WARMUP):  # connections, imports and the simulator's rendering
                directly()
                through_cache()
            direct = [timed(directly) for _ in range(SAMPLES)]
            cached = [timed(through_cache) for _ in range(SAMPLES)]
            ours = wake_cost(lambda: client.get(bench.stack.url + "/health/live"))
            upstream = wake_cost(lambda: client.get(bench.simulator + "/_sim/stats"))
    figure("upstream directly (reference)", describe(direct))
    figure("POST to full image through imagecache", describe(cached))
    overhead = percentile(cached, 50) - percentile(direct, 50)
    figure(
        "overhead p50 (aim <= 3 ms)",
        f"{overhead:.1f} ms",
    )
    figure("overhead p99", f"{percentile(cached, 99) - percentile(direct, 99):.1f} ms")
    figure(f"a request at once | after {IDLE_MS} ms idle, p50", "")
    figure("  imagecache's GET /health/live", ours)
    figure("  the simulator's GET /_sim/stats", upstream)


if __name__ == "__main__":
    main()

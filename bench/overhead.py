"""Time a new query costs beyond the upstream's own latency (simulator at 300 ms).

Reference: the same client asking the simulator directly, in the same run.
"""

from __future__ import annotations

import time

import httpx

from bench.harness import describe, environment, figure, percentile
from testkit.upstream import make_query, simulate

LATENCY_MS, SAMPLES, WARMUP = 300, 40, 5
AUTH = {"X-CH-Auth-Email": "bench@example.com", "X-CH-Auth-API-Token": "bench"}


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    with environment() as bench:
        simulate(bench.simulator, latency_ms=LATENCY_MS)
        with httpx.Client(timeout=30) as client:

            def directly() -> None:
                client.post(bench.simulator + "/query/topXchart", json=make_query(), headers=AUTH).raise_for_status()

            def through_cache() -> None:
                entry_id = client.post(bench.stack.url + "/requests", json={"api_query": make_query()}).json()["id"]
                client.get(f"{bench.stack.url}/image/{entry_id}").raise_for_status()

            for _ in range(WARMUP):  # connections, imports and the simulator's rendering
                directly()
                through_cache()
            direct = [timed(directly) for _ in range(SAMPLES)]
            cached = [timed(through_cache) for _ in range(SAMPLES)]
    figure("upstream directly (reference)", describe(direct))
    figure("POST to full image through imagecache", describe(cached))
    overhead = percentile(cached, 50) - percentile(direct, 50)
    figure(
        "overhead p50 (aim <= 3 ms)",
        f"{overhead:.1f} ms",
    )
    figure("overhead p99", f"{percentile(cached, 99) - percentile(direct, 99):.1f} ms")


if __name__ == "__main__":
    main()

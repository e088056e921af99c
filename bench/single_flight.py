"""50 identical concurrent POSTs: how many upstream calls (must be 1)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from bench.harness import environment, figure
from testkit.upstream import make_query, simulate, upstream_stats

CLIENTS = 50


def main() -> None:
    with environment() as bench:
        simulate(bench.simulator, latency_ms=300)
        query = make_query()
        with ThreadPoolExecutor(CLIENTS) as pool:
            ids = set(pool.map(lambda _: bench.stack.request(query)["id"], range(CLIENTS)))
        status = httpx.get(f"{bench.stack.url}/image/{next(iter(ids))}", timeout=30).status_code
        calls = upstream_stats(bench.simulator)["calls"]
    figure(f"{CLIENTS} identical concurrent POSTs: distinct ids", str(len(ids)))
    figure(f"{CLIENTS} identical concurrent POSTs: upstream calls", f"{calls} (must be 1; image {status})")


if __name__ == "__main__":
    main()

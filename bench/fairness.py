"""Tenants served fairly: tenant A posts 200 new queries, then tenant B posts 4 (upstream 1 s, a cap of 4). How long
B's last result takes from its POSTs, against one fetch through the same stack (the unit a turn is made of) and
against what B waited before tenants took turns: A's whole backlog, first come first served (about 50 s).

    .venv/bin/python -m bench.fairness
"""

from __future__ import annotations

import math
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.harness import environment, figure
from imagecache.auth.hashed_secrets import HashedSecrets
from testkit.upstream import make_query, simulate

A_BACKLOG, B_HANDFUL, CAP, LATENCY_MS = 200, 4, 4, 1000


def post(url: str, key: str) -> str:
    answer = httpx.post(url + "/requests", json={"api_query": make_query()}, headers=bearer(key), timeout=30)
    return str(answer.json()["id"])


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def served(url: str, key: str, entry_id: str) -> float:
    while httpx.get(f"{url}/image/{entry_id}", headers=bearer(key), timeout=120).status_code != 200:
        pass
    return time.monotonic()


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        keys = Path(scratch) / "keys"
        a, b = HashedSecrets(keys).add("tenant-a"), HashedSecrets(keys).add("tenant-b")
        env = {"API_KEYS_FILE": str(keys), "UPSTREAM_MAX_CONCURRENCY": str(CAP), "WORKER_CONCURRENCY": "16"}
        with environment(**env) as bench:
            url = bench.stack.url
            simulate(bench.simulator, latency_ms=LATENCY_MS)
            began = time.monotonic()
            served(url, a, post(url, a))
            one_fetch = time.monotonic() - began
            with ThreadPoolExecutor(16) as pool:
                list(pool.map(lambda _: post(url, a), range(A_BACKLOG)))
                began = time.monotonic()
                handful = list(pool.map(lambda _: post(url, b), range(B_HANDFUL)))
                b_done = max(pool.map(lambda entry_id: served(url, b, entry_id), handful)) - began
    first_come = math.ceil(A_BACKLOG / CAP) * LATENCY_MS / 1000
    figure(f"B's {B_HANDFUL} results behind A's {A_BACKLOG}, cap {CAP}", f"{b_done:.2f} s from B's POSTs (aim <= 2.5)")
    figure("  one fetch through the stack (a turn)", f"{one_fetch:.2f} s; ratio {b_done / one_fetch:.2f}")
    figure("  first come, first served: A's backlog", f"{first_come:.0f} s; ratio {b_done / first_come:.3f}")


if __name__ == "__main__":
    main()

"""Run every benchmark in turn and print its figures (`make bench`)."""

from __future__ import annotations

import importlib
import time

BENCHMARKS = [
    "cached_get",
    "proxy_cached_get",
    "single_flight",
    "overhead",
    "burst",
    "fairness",
    "waiters",
    "event_streams",
    "held_connections",
    "files_stress",
    "files_big",
    "client",
    "assets",
    "recovery",
    "replica_wait",
    "hosts",
    "growth",
    "purge",
    "startup",
    "fresh_results",
    "redis_round_trips",
    "posts",
    "blob_put",
    "callbacks",
    "profile",
]


def main() -> None:
    for name in BENCHMARKS:
        print(f"== {name}", flush=True)
        started = time.monotonic()
        importlib.import_module(f"bench.{name}").main()
        print(f"   ({time.monotonic() - started:.0f} s)\n", flush=True)


if __name__ == "__main__":
    main()

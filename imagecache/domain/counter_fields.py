"""The shared counters every process adds to, and what one fetch adds.

The counters live in the stats hash (index/counters.py); /info and /metrics
read them, so every instance reports the whole cluster's figures. A fetch adds
to the one latency bucket it falls in; /metrics sums them into Prometheus's
cumulative buckets when it is scraped, so a result costs a few counter writes,
not one per bucket.
"""

from __future__ import annotations

from collections.abc import Mapping

UPSTREAM_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
MAINTENANCE_ERRORS = "maintenance_errors"  # items maintenance or eviction could not handle
REPLICA_WAITS = "replica_waits"  # acknowledged writes that waited for a replica (REDIS_WAIT_REPLICAS)
REPLICA_WAIT_TIMEOUTS = "replica_wait_timeouts"  # waits that ended before enough replicas had the writes
UNREPLICATED_WRITES = "unreplicated_writes"  # acknowledged writes not waited for: no replica was answering


def fetch_increments(*, calls: int, failures: int, seconds: float) -> dict[str, float]:
    """What one fetch adds to the counters: calls, retries and failures (when there are any) and its bucket."""
    counts = {"upstream_calls": calls, "upstream_retries": calls - 1, "upstream_failures": failures}
    added: dict[str, float] = {name: count for name, count in counts.items() if count}
    slowest = next((bound for bound in UPSTREAM_BUCKETS if seconds <= bound), None)
    added[bucket_field(slowest)] = 1
    added["upstream_seconds_count"] = 1
    added["upstream_seconds_sum"] = float(seconds)
    return added


def bucket_field(bound: float | None) -> str:
    """The counter of fetches slower than the bound below `bound` and at most `bound` (None: slower than all)."""
    return f"upstream_seconds_in_{'inf' if bound is None else bound}"


def cumulative_buckets(counters: Mapping[str, float]) -> list[tuple[float, float]]:
    """(bound, fetches at most that slow) for every bound, as Prometheus's histogram buckets count them."""
    total, buckets = 0.0, []
    for bound in UPSTREAM_BUCKETS:
        total += counters.get(bucket_field(bound), 0)
        buckets.append((bound, total))
    return buckets

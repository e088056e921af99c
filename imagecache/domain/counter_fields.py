"""The shared counters every process adds to, and what one fetch adds.

The counters live in the stats hash (index/counters.py); /info and /metrics
read them, so every instance reports the whole cluster's figures.
"""

from __future__ import annotations

UPSTREAM_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
MAINTENANCE_ERRORS = "maintenance_errors"  # items maintenance or eviction could not handle


def fetch_increments(*, calls: int, failures: int, seconds: float) -> dict[str, float]:
    """What one fetch adds to the counters: calls, retries, failures and the latency histogram."""
    added: dict[str, float] = {
        "upstream_calls": calls,
        "upstream_retries": calls - 1,
        "upstream_failures": failures,
        "upstream_seconds_count": 1,
        "upstream_seconds_sum": float(seconds),
    }
    added.update({bucket_field(bound): 1 for bound in UPSTREAM_BUCKETS if seconds <= bound})
    return added


def bucket_field(bound: float) -> str:
    return f"upstream_seconds_le_{bound}"

"""Where a pending entry stands: how many jobs of its kind wait for a slot before it, and when it should be done.

A kind's runs are capped (its concurrency, across every worker), so the jobs waiting before an entry start in
rounds of that many, each round about one run long: the runs under way end, on average, half a run from now.
A run's length is its kind's recent duration, kept in the index at one number per kind. Honest, not exact: a
client uses it to say how long, and to know when to ask again (Retry-After).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

RETRY_AFTER_DEFAULT, RETRY_AFTER_MOST = 5, 60


@dataclass(frozen=True)
class Estimate:
    queue_position: int  # 0: it has a slot (queued to run, or running); n: the n-th of its kind in line for one
    eta_seconds: float | None  # seconds until it should be done; None before any run of its kind was timed

    def retry_after(self) -> int:
        """Seconds a client should wait before asking again: when it should be done, within 1 and a minute; the
        default when that is unknown, or already past (a run taking longer than its kind's, or one being
        recovered), so that an overdue run is not polled every second."""
        if not self.eta_seconds:
            return RETRY_AFTER_DEFAULT
        return max(1, min(RETRY_AFTER_MOST, math.ceil(self.eta_seconds)))


def estimate(ahead: int | None, slots: int, run_seconds: float | None, running_for: float) -> Estimate:
    """`ahead`: the jobs waiting before it (None: it waits for none); `slots`: the kind's cap; `run_seconds`: how
    long its runs take lately; `running_for`: how long its own run has gone on (0 before it starts)."""
    if ahead is None:
        eta = None if run_seconds is None else max(0.0, run_seconds - running_for)
        return Estimate(0, _rounded(eta))
    if run_seconds is None:
        return Estimate(ahead + 1, None)
    rounds_before_start = ahead // max(slots, 1) + 0.5
    return Estimate(ahead + 1, _rounded((rounds_before_start + 1) * run_seconds))


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)

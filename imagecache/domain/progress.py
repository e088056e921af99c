"""What a running job reports (`imagecache.jobs.report_progress`): how far along it is, and what it is doing.

The producer sets where reports go for the job it runs (a context variable, so a job's `run(query)` keeps its
shape); reports reach the index at most every REPORT_EVERY seconds, the last one (1.0) always, so a job that
reports in a tight loop costs Redis nothing more. A message is cut to MAX_MESSAGE bytes of UTF-8: the entry keeps it
while pending, and short values keep its hash compact in Redis.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

REPORT_EVERY = 0.5
MAX_MESSAGE = 60


@dataclass(frozen=True)
class JobProgress:
    fraction: float  # 0.0 to 1.0
    message: str = ""


_sink: ContextVar[Callable[[JobProgress], object] | None] = ContextVar("imagecache_progress_sink", default=None)


def report_progress(fraction: float, message: str = "") -> None:
    """Tell whoever waits for this job's result how far along it is (0.0 to 1.0) and, in a few words, what it is
    doing. Outside a job run it does nothing."""
    sink = _sink.get()
    if sink is None:
        return
    try:
        value = float(fraction)
        cut = str(message).encode(errors="replace")[:MAX_MESSAGE].decode(errors="ignore")
    except (TypeError, ValueError):  # a report that makes no sense is dropped: it never breaks the job
        return
    if value == value:  # NaN says nothing
        sink(JobProgress(min(1.0, max(0.0, value)), cut))


@contextmanager
def reporting(send: Callable[[JobProgress], object], clock: Callable[[], float] = time.monotonic) -> Iterator[None]:
    """Within the block, the job's reports go to `send`, at most every REPORT_EVERY seconds (the last always)."""
    last = [float("-inf")]
    finished = [False]

    def throttled(progress: JobProgress) -> None:
        now = clock()
        done = progress.fraction >= 1.0
        if (done and not finished[0]) or now - last[0] >= REPORT_EVERY:
            last[0], finished[0] = now, done
            send(progress)

    token = _sink.set(throttled)
    try:
        yield
    finally:
        _sink.reset(token)

"""ItemSweep: one bad item never stops a sweep over many.

Maintenance and eviction walk entries, files and garbage keys, a batch at a
time (a batch's index writes go to Redis in one round trip). A failure of one
item that is not an outage (a corrupt record, a script refusing it) is logged
with the key and the message, counted in Redis for /metrics, and the sweep
goes on past it; an outage stops the sweep, since no item can succeed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from imagecache.domain.outages import is_outage

log = logging.getLogger(__name__)

# What handling one item came to: its result, or the exception it raised.
ItemOutcome = object
BatchHandler = Callable[[list[str]], list[ItemOutcome]]


def one_by_one(handle: Callable[[str], object]) -> BatchHandler:
    """A batch handler that handles each item on its own, catching what each raises."""

    def handle_all(items: list[str]) -> list[ItemOutcome]:
        return [_outcome(handle, item) for item in items]

    return handle_all


class ItemSweep:
    def __init__(self, count: Callable[[], object]) -> None:
        self._count = count
        self.failures = 0

    def run(self, what: str, batch: Callable[[int], Iterable[str]], handle_all: BatchHandler) -> int:
        """Handle each item the batches give once; the number whose outcome was true.

        `batch(skip)` gives the next items still to do from the `skip`-th on. Items tried already (they failed,
        or are still there for another reason) are stepped over, so every sweep ends.
        """
        done, skip, tried = 0, 0, set()
        while items := list(batch(skip)):
            fresh = [item for item in items if item not in tried]
            skip += len(items) - len(fresh)
            tried.update(fresh)
            done += sum(bool(self._judge(what, item, outcome)) for item, outcome in zip(fresh, handle_all(fresh)))
        return done

    def guard(self, what: str, item: str, handle: Callable[[str], object]) -> object:
        """What `handle` returned, or None when it failed (logged and counted); an outage is raised."""
        return self._judge(what, item, _outcome(handle, item))

    def _judge(self, what: str, item: str, outcome: ItemOutcome) -> object:
        if not isinstance(outcome, Exception):
            return outcome
        if is_outage(outcome):
            raise outcome
        self.failures += 1
        log.error("%s %s failed: %s", what, item, outcome, exc_info=outcome)
        self._count()
        return None


def _outcome(handle: Callable[[str], object], item: str) -> ItemOutcome:
    try:
        return handle(item)
    except Exception as exc:
        return exc

"""ItemSweep: one bad item never stops a sweep over many.

Maintenance and eviction walk entries, files and garbage keys. A failure of
one item that is not an outage (a corrupt record, a script refusing it) is
logged with the key and the message, counted in Redis for /metrics, and the
sweep goes on past it; an outage stops the sweep, since no item can succeed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from imagecache.outages import is_outage

log = logging.getLogger(__name__)

MAINTENANCE_ERRORS = "maintenance_errors"  # the stats-hash counter /metrics exports


class ItemSweep:
    def __init__(self, count: Callable[[], object]) -> None:
        self._count = count
        self.failures = 0

    def run(self, what: str, batch: Callable[[int], Iterable[str]], handle: Callable[[str], object]) -> int:
        """Handle each item the batches give once; the number for which `handle` returned true.

        `batch(skip)` gives the next items still to do from the `skip`-th on. Items tried already (they failed,
        or are still there for another reason) are stepped over, so every sweep ends.
        """
        done, skip, tried = 0, 0, set()
        while items := list(batch(skip)):
            fresh = [item for item in items if item not in tried]
            skip += len(items) - len(fresh)
            tried.update(fresh)
            done += sum(bool(self.guard(what, item, handle)) for item in fresh)
        return done

    def guard(self, what: str, item: str, handle: Callable[[str], object]) -> object:
        """What `handle` returned, or None when it failed (logged and counted); an outage is raised."""
        try:
            return handle(item)
        except Exception as exc:
            if is_outage(exc):
                raise
            self.failures += 1
            log.exception("%s %s failed: %s", what, item, exc)
            self._count()
            return None

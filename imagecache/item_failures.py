"""ItemFailures: one bad item never stops a sweep over many.

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


class ItemFailures:
    def __init__(self, count: Callable[[], object]) -> None:
        self._count = count
        self.total = 0

    def sweep(self, what: str, batch: Callable[[int], Iterable[str]], handle: Callable[[str], object]) -> int:
        """Handle every item the batches give; the number for which `handle` returned true.

        `batch(skip)` gives the next items still to do, passing over the first `skip` (those that failed).
        """
        done = failed = 0
        while items := list(batch(failed)):
            for item in items:
                ok, result = self._attempt(what, item, handle)
                failed += not ok
                done += bool(result)
        return done

    def guard(self, what: str, item: str, handle: Callable[[str], object]) -> object:
        """What `handle` returned, or None when it failed (logged and counted); an outage is raised."""
        return self._attempt(what, item, handle)[1]

    def _attempt(self, what: str, item: str, handle: Callable[[str], object]) -> tuple[bool, object]:
        try:
            return True, handle(item)
        except Exception as exc:
            if is_outage(exc):
                raise
            self.total += 1
            log.exception("%s %s failed: %s", what, item, exc)
            self._count()
            return False, None

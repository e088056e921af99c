"""Capacity: CACHE_MAX_BYTES over images and /v1 files together.

Usage is the exact byte count the index scripts keep in Redis (so it holds
across restarts and hosts); when it passes the bound the least recently used
stored results go first, images and files alike. Eviction makes an expiry
an upper bound, not a promise. A single result larger than the bound can
never fit and is refused with 507.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from imagecache.domain.ports import EntryUpkeep, FileIndex, Recency
from imagecache.services.item_sweep import ItemSweep, one_by_one

log = logging.getLogger(__name__)


class Capacity:
    def __init__(
        self,
        recency: Recency,
        entries: EntryUpkeep,
        files: FileIndex,
        max_bytes: int,
        sweep: ItemSweep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._recency = recency
        self._entries = entries
        self._files = files
        self.max_bytes = max_bytes
        self._sweep = sweep
        self._clock = clock

    def used(self) -> int:
        return self._recency.used_bytes()

    def fits(self, size: int) -> bool:
        """Whether a result of this size can be stored at all (after evicting everything else)."""
        return not self.max_bytes or size <= self.max_bytes

    def enforce(self) -> int:
        """Evict least recently used results until usage is under the bound; the number evicted."""
        if not self.max_bytes:
            return 0
        evicted = self._sweep.run("capacity: evicting", self._next_victim, one_by_one(self._evict))
        if evicted:
            log.info("capacity: evicted %d results to stay under %d bytes", evicted, self.max_bytes)
        return evicted

    def _next_victim(self, skip: int) -> list[str]:
        """The least recently used result (past `skip` that could not be evicted), while over the bound."""
        if self.used() <= self.max_bytes:
            return []
        return self._recency.least_recent(skip)

    def _evict(self, member: str) -> bool:
        kind, _, ident = member.partition(":")
        now = self._clock()
        if kind == "i":
            self._entries.delete(ident, now)
        else:
            self._files.remove(ident, now)
        self._recency.forget(member)
        return True

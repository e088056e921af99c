"""ImageCache: the domain rules of the Kentik-style cache.

Ids, single flight, expiry and error reuse live here; HTTP lives in the
resources and job execution in the workers, which both call in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from imagecache.blobs import BlobReader, BlobStore
from imagecache.capacity import Capacity
from imagecache.entries import EntryStore
from imagecache.entry import Entry, Outcome, Reuse, Status
from imagecache.ids import EntryId, canonical_json, query_digest
from imagecache.notifier import EntryNotifier
from imagecache.settled import SettledEntries

log = logging.getLogger(__name__)

RECHECK_SECONDS = 5.0
TOUCH_INTERVAL = 60.0
_STATISTICS = (
    "active_count",
    "pending_count",
    "error_count",
    "hits",
    "misses",
    "dedupes",
    "error_hits",
    "upstream_calls",
    "upstream_failures",
)


class JobQueue(Protocol):
    """Where new and lost entries are handed to a worker."""

    def enqueue(self, entry_id: str) -> None: ...

    def enqueue_again(self, entry_id: str) -> None:
        """A new job for an entry whose job was lost."""
        ...

    def waiting(self, entry_ids: list[str]) -> set[str]:
        """Those of the entries whose job is queued or running."""
        ...

    def clean(self) -> None: ...

    def depth(self) -> int: ...

    def workers(self) -> int: ...


@dataclass(frozen=True)
class Limits:
    default_ttl: int
    max_ttl: int
    error_ttl: int
    pickup_grace: float  # how long a new entry's job may wait before recovery checks that it still exists


class ImageCache:
    def __init__(
        self,
        entries: EntryStore,
        blobs: BlobStore,
        jobs: JobQueue,
        notifier: EntryNotifier,
        capacity: Capacity,
        limits: Limits,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.entries = entries
        self.blobs = blobs
        self._jobs = jobs
        self._notifier = notifier
        self._capacity = capacity
        self.limits = limits
        self._clock = clock
        self._settled = SettledEntries()
        notifier.add_listener(self._settled.forget)

    def request(self, query: Any, ttl: int | None = None, max_age: int | None = None, refresh: bool = False) -> Outcome:
        """The entry serving query: an existing one when reusable, else a new pending one."""
        now = self._clock()
        digest = query_digest(query)
        expires_at = round(now + (ttl or self.limits.default_ttl), 6)
        outcome = self.entries.request(
            digest=digest,
            new_id=str(EntryId(digest, expires_at)),
            now=now,
            expires_at=expires_at,
            query=canonical_json(query),
            max_age=max_age,
            refresh=refresh,
            check_pickup_at=now + self.limits.pickup_grace,
        )
        if outcome.reuse is Reuse.CREATED:
            log.info("request %s: new, enqueued", outcome.entry.id)
            self._jobs.enqueue(outcome.entry.id)
        return outcome

    def lookup(self, entry_id: str) -> Entry | None:
        """The live entry for a client-supplied id; None if malformed, unknown or expired."""
        parsed = EntryId.parse(entry_id)
        if parsed is None or parsed.expires_at <= self._clock():
            return None
        entry = self._settled.get(entry_id) or self.entries.get(entry_id)
        if entry is not None:
            self._settled.remember(entry)
        return entry

    def wait(self, entry: Entry, timeout: float) -> Entry | None:
        """The entry once it leaves pending, or still pending after timeout."""
        deadline = self._clock() + timeout
        with self._notifier.watching(entry.id) as settled:
            while True:
                current = self.entries.get(entry.id)
                if current is not None:
                    self._settled.remember(current)
                remaining = deadline - self._clock()
                if current is None or current.status is not Status.PENDING or remaining <= 0:
                    return current
                settled.wait(min(remaining, RECHECK_SECONDS))
                settled.clear()

    def record_use(self, entry: Entry) -> None:
        """Keep a served result recent for eviction (coarsely: once a minute per process)."""
        now = self._clock()
        if self._settled.touch_due(entry.id, now, TOUCH_INTERVAL):
            self.entries.touch(entry.id, now)

    def open(self, entry: Entry, start: int = 0, length: int | None = None) -> BlobReader:
        return self.blobs.open(entry.blob_key, start, length)

    def statistics(self) -> dict[str, int]:
        counts = self.entries.counts()
        stats = {name: counts.get(name, 0) for name in _STATISTICS}
        stats["total_bytes"] = counts.get("bytes", 0)
        stats["used_bytes"] = Capacity.usage(counts)
        stats["max_bytes"] = self._capacity.max_bytes
        stats["queue_depth"] = self._jobs.depth()
        stats["live_workers"] = self._jobs.workers()
        return stats

    def remaining_life(self, entry: Entry) -> int:
        return max(0, int(entry.expires_at - self._clock()))

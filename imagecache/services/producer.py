"""Producer: turns one pending entry into an active or error entry.

Runs inside a worker job. Every path ends in a settled entry or an entry
handed out again, and a blob is only kept when its entry points at it. A
result in hand is never thrown away for an outage: the index write is tried
again, with backoff, for `hold_seconds` (ENTRY_WAIT_TIMEOUT), so the entry is
served as soon as Redis is back, with no second upstream call.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from imagecache.domain.blob_metadata import image_metadata
from imagecache.domain.counter_fields import fetch_increments
from imagecache.domain.entry_record import EntryRecord
from imagecache.domain.errors import FetchError, StorageError
from imagecache.domain.outages import is_outage, through_outage
from imagecache.domain.ports import BlobGarbage, BlobStore, Counters, EntryIndex, Fetcher, FetchResult
from imagecache.services.blob_lifecycle import discard, mark_until_indexed
from imagecache.services.capacity import Capacity

log = logging.getLogger(__name__)


class Producer:
    def __init__(
        self,
        entries: EntryIndex,
        blobs: BlobStore,
        fetcher: Fetcher,
        capacity: Capacity,
        lease: str,
        *,
        garbage: BlobGarbage,
        counters: Counters,
        error_ttl: int,
        max_attempts: int,
        hold_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._entries = entries
        self._blobs = blobs
        self._fetcher = fetcher
        self._capacity = capacity
        self.lease = lease
        self._garbage = garbage
        self._counters = counters
        self._error_ttl = error_ttl
        self._max_attempts = max_attempts
        self._hold_seconds = hold_seconds
        self._clock = clock
        self._producing: set[str] = set()
        self._lock = threading.Lock()

    @contextmanager
    def producing(self) -> Iterator[set[str]]:
        """The entries this process is producing, held still: no job claims another entry meanwhile (a job
        notes its entry before it claims it), so whatever else the lease holds is a stray."""
        with self._lock:
            yield set(self._producing)

    def produce(self, entry_id: str) -> None:
        with self._lock:
            if entry_id in self._producing:  # a second job for it reached this process: one fetch is enough
                log.info("produce %s: already being produced here", entry_id)
                return
            self._producing.add(entry_id)  # before the claim, so the claim is never taken for a stray
        try:
            entry = self._claim(entry_id)
            fetched = self._fetch(entry) if entry else None
            if entry and fetched:
                self._store(entry, fetched)
        finally:
            with self._lock:
                self._producing.discard(entry_id)

    def _claim(self, entry_id: str) -> EntryRecord | None:
        """The entry, counted as one more attempt, if it still waits for one (and may have it)."""
        attempt = self._entries.claim(entry_id, self.lease, self._clock())
        entry = self._entries.get(entry_id) if attempt > 0 else None
        if entry is None:
            log.info("produce %s: settled, or produced by a live worker: nothing to do", entry_id)
            return None
        if attempt > self._max_attempts:
            self._fail(entry_id, FetchError(502, f"gave up after {attempt - 1} interrupted attempts", kind="error"))
            return None
        return entry

    def _fetch(self, entry: EntryRecord) -> FetchResult | None:
        started = time.monotonic()
        try:
            fetched = self._fetcher.fetch(json.loads(entry.query))
        except FetchError as exc:
            self._record_fetch(calls=exc.attempts, failures=exc.attempts, seconds=time.monotonic() - started)
            self._fail(entry.id, exc, expires_at=entry.expires_at)
            return None
        self._record_fetch(calls=fetched.attempts, failures=fetched.attempts - 1, seconds=time.monotonic() - started)
        if not self._capacity.fits(len(fetched.data)):
            message = f"result of {len(fetched.data)} bytes exceeds CACHE_MAX_BYTES ({self._capacity.max_bytes})"
            self._fail(entry.id, FetchError(507, message, kind="error"))
            return None
        return fetched

    def _store(self, entry: EntryRecord, fetched: FetchResult) -> None:
        key = EntryRecord.attempt_key(entry.id)
        try:
            info = self._blobs.put(
                key, io.BytesIO(fetched.data), fetched.content_type, image_metadata(entry, self._clock())
            )
        except StorageError as exc:  # 507 when full, 503 when unreachable: both retried after ERROR_TTL
            log.error("produce %s: cannot store result: %s", entry.id, exc)
            discard(self._garbage, self._blobs, key, now=self._clock())
            self._fail(entry.id, FetchError(exc.status, f"result could not be stored: {exc}", kind="error"))
            return
        mark_until_indexed(self._garbage, self._blobs, key, now=self._clock(), hold_seconds=self._hold_seconds)
        # Should Redis stay away longer, the blob stays where it is, in the garbage set: the write may have gone
        # through unanswered (then it took the key out of the set), or not (then the blob is collected).
        settled = through_outage(
            lambda: self._entries.complete(
                entry.id,
                now=self._clock(),
                content_type=fetched.content_type,
                size=info.size,
                etag=info.sha256,
                blob_key=key,
            ),
            self._hold_seconds,
        )
        if not settled:
            discard(self._garbage, self._blobs, key, now=self._clock())
        self._enforce_capacity()
        log.info("produce %s: %s, %d bytes", entry.id, "active" if settled else "dropped", info.size)

    def _fail(self, entry_id: str, error: FetchError, expires_at: float = 0.0) -> None:
        now = self._clock()
        until = expires_at if error.definitive else now + self._error_ttl
        through_outage(
            lambda: self._entries.fail(
                entry_id, now=now, status=error.status, kind=error.kind, message=error.message, until=until
            ),
            self._hold_seconds,
        )
        log.warning("produce %s: error %d: %s", entry_id, error.status, error.message)

    def _record_fetch(self, *, calls: int, failures: int, seconds: float) -> None:
        self._unless_outage(
            "fetch statistics",
            lambda: self._counters.add(fetch_increments(calls=calls, failures=failures, seconds=seconds)),
        )

    def _enforce_capacity(self) -> None:
        self._unless_outage("eviction (maintenance does it)", self._capacity.enforce)

    @staticmethod
    def _unless_outage(what: str, call: Callable[[], object]) -> None:
        """Upkeep around a result is worth less than the result: an outage skips it, never the result."""
        try:
            call()
        except Exception as exc:
            if not is_outage(exc):
                raise
            log.warning("produce: %s skipped: %s", what, exc)

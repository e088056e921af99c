"""Producer: turns one pending entry into an active or error entry.

Runs inside a worker job. Every path ends in a settled entry or a retried
job, and a blob is only kept when its entry points at it.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable

from imagecache.blob_metadata import image_metadata
from imagecache.blobs import BlobStore, StorageError
from imagecache.capacity import Capacity
from imagecache.entries import EntryStore
from imagecache.entry import Entry
from imagecache.fetchers import FetchError, Fetched, Fetcher

log = logging.getLogger(__name__)


class Producer:
    def __init__(
        self,
        entries: EntryStore,
        blobs: BlobStore,
        fetcher: Fetcher,
        capacity: Capacity,
        *,
        error_ttl: int,
        max_attempts: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._entries = entries
        self._blobs = blobs
        self._fetcher = fetcher
        self._capacity = capacity
        self._error_ttl = error_ttl
        self._max_attempts = max_attempts
        self._clock = clock

    def produce(self, entry_id: str) -> None:
        entry = self._claim(entry_id)
        fetched = self._fetch(entry) if entry else None
        if entry and fetched:
            self._store(entry, fetched)

    def _claim(self, entry_id: str) -> Entry | None:
        """The entry, counted as one more attempt, if it still waits for one (and may have it)."""
        attempt = self._entries.start_attempt(entry_id, self._clock())
        entry = self._entries.get(entry_id) if attempt > 0 else None
        if entry is None:
            log.info("produce %s: no longer pending, nothing to do", entry_id)
            return None
        if attempt > self._max_attempts:
            self._fail(entry_id, FetchError(502, f"gave up after {attempt - 1} interrupted attempts", kind="error"))
            return None
        return entry

    def _fetch(self, entry: Entry) -> Fetched | None:
        started = time.monotonic()
        try:
            fetched = self._fetcher.fetch(json.loads(entry.query))
        except FetchError as exc:
            self._entries.record_fetch(calls=exc.attempts, failures=exc.attempts, seconds=time.monotonic() - started)
            self._fail(entry.id, exc, expires_at=entry.expires_at)
            return None
        seconds = time.monotonic() - started
        self._entries.record_fetch(calls=fetched.attempts, failures=fetched.attempts - 1, seconds=seconds)
        if not self._capacity.fits(len(fetched.data)):
            message = f"result of {len(fetched.data)} bytes exceeds CACHE_MAX_BYTES ({self._capacity.max_bytes})"
            self._fail(entry.id, FetchError(507, message, kind="error"))
            return None
        return fetched

    def _store(self, entry: Entry, fetched: Fetched) -> None:
        try:
            info = self._blobs.put(entry.blob_key, io.BytesIO(fetched.data), fetched.content_type,
                                   image_metadata(entry, self._clock()))
        except StorageError as exc:  # 507 when full, 503 when unreachable: both retried after ERROR_TTL
            log.error("produce %s: cannot store result: %s", entry.id, exc)
            self._blobs_forget(entry.blob_key)
            self._fail(entry.id, FetchError(exc.status, f"result could not be stored: {exc}", kind="error"))
            return
        settled = self._entries.complete(
            entry.id, now=self._clock(), content_type=fetched.content_type, size=info.size, etag=info.sha256
        )
        if not settled:
            self._blobs_forget(entry.blob_key)
        self._capacity.enforce()
        log.info("produce %s: %s, %d bytes", entry.id, "active" if settled else "dropped", info.size)

    def _fail(self, entry_id: str, error: FetchError, expires_at: float = 0.0) -> None:
        now = self._clock()
        until = expires_at if error.definitive else now + self._error_ttl
        self._entries.fail(entry_id, now=now, status=error.status, kind=error.kind, message=error.message, until=until)
        log.warning("produce %s: error %d: %s", entry_id, error.status, error.message)

    def _blobs_forget(self, key: str) -> None:
        """Drop a blob no entry points at; maintenance retries if storage is down."""
        try:
            self._blobs.delete(key)
        except StorageError:
            self._entries.garbage.add(key, due=self._clock())

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
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from imagecache.domain.blob_metadata import image_metadata
from imagecache.domain.counter_fields import fetch_increments
from imagecache.domain.entry_record import EntryRecord
from imagecache.domain.error_backoff import ErrorBackoff
from imagecache.domain.errors import FetchError, StorageError
from imagecache.domain.outages import is_outage, through_outage
from imagecache.domain.ports import (
    EntryProduction,
    Fetcher,
    FetchResult,
    Readable,
)
from imagecache.domain.progress import JobProgress, reporting
from imagecache.services.blob_lifecycle import ORPHAN_GRACE, BlobKeeping, discard
from imagecache.services.followups import Followups

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProductionRules:
    """How results are produced. `attempt_seconds`: the longest a run may take (the longest kind's timeout);
    `error_backoff`: how long a transient error answers before the query is tried again; `max_attempts`: runs of
    one entry before its error stands; `hold_seconds` (ENTRY_WAIT_TIMEOUT): how long a result in hand waits out
    an index outage."""

    attempt_seconds: float
    error_backoff: ErrorBackoff
    max_attempts: int
    hold_seconds: float


class Producer:
    def __init__(
        self,
        entries: EntryProduction,
        keeping: BlobKeeping,
        jobs: Mapping[str, Fetcher],
        lease: str,
        rules: ProductionRules,
        followups: Followups | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        followups = followups or Followups()
        self._callbacks = followups.callbacks
        self._replication = followups.replication
        self._entries = entries
        self._blobs = keeping.blobs
        self._garbage = keeping.garbage
        self._capacity = keeping.capacity
        self._jobs = jobs
        self.lease = lease
        self._attempt_seconds = rules.attempt_seconds
        self._error_backoff = rules.error_backoff
        self._max_attempts = rules.max_attempts
        self._hold_seconds = rules.hold_seconds
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
            key = EntryRecord.attempt_key(entry_id)
            entry = self._claim(entry_id, key)
            if entry:
                self._attempt(entry, key)
        finally:
            with self._lock:
                self._producing.discard(entry_id)

    def _claim(self, entry_id: str, key: str) -> EntryRecord | None:
        """The entry, counted as one more attempt, if it still waits for one (and may have it). The attempt's
        result key is garbage from now until indexed: past the longest an attempt may run, then past the wait for
        Redis, it is collected."""
        now = self._clock()
        due = now + self._attempt_seconds + self._hold_seconds + ORPHAN_GRACE
        entry = self._entries.claim(entry_id, self.lease, now, key, due)
        if entry is None:
            log.info("produce %s: settled, or produced by a live worker: nothing to do", entry_id)
            return None
        self._replication.confirm()  # the attempt's key is known as garbage wherever the index fails over to
        if entry.attempts > self._max_attempts:
            message = f"gave up after {entry.attempts - 1} interrupted attempts"
            self._fail(entry_id, FetchError(502, message, kind="error"))
            return None
        return entry

    def _attempt(self, entry: EntryRecord, key: str) -> None:
        job = self._jobs.get(entry.job)
        if job is None:  # every live worker advertises the kinds it runs, so this is a worker that lost one
            message = f"job {entry.job!r} is not installed on this worker host"
            self._fail(entry.id, FetchError(503, message, kind="error"))
            return
        started = time.monotonic()
        try:
            with reporting(lambda progress: self._note_progress(entry.id, progress)):
                fetched = job.fetch(json.loads(entry.query))
        except FetchError as exc:
            counts = fetch_increments(calls=exc.attempts, failures=exc.attempts, seconds=time.monotonic() - started)
            self._fail(entry.id, exc, expires_at=entry.expires_at, counts=counts)
            return
        counts = fetch_increments(
            calls=fetched.attempts, failures=fetched.attempts - 1, seconds=time.monotonic() - started
        )
        with _result_stream(fetched) as (stream, size):
            if not self._capacity.fits(size):
                message = f"result of {size} bytes exceeds CACHE_MAX_BYTES ({self._capacity.max_bytes})"
                self._fail(entry.id, FetchError(507, message, kind="error"), counts=counts)
                return
            self._store(entry, key, fetched.content_type, stream, counts)

    def _store(
        self, entry: EntryRecord, key: str, content_type: str, stream: Readable, counts: Mapping[str, float]
    ) -> None:
        try:
            info = self._blobs.put(key, stream, content_type, image_metadata(entry, self._clock()))
        except StorageError as exc:  # 507 when full, 503 when unreachable: both retried after ERROR_TTL
            log.error("produce %s: cannot store result: %s", entry.id, exc)
            discard(self._garbage, self._blobs, key, now=self._clock())
            error = FetchError(exc.status, f"result could not be stored: {exc}", kind="error")
            self._fail(entry.id, error, counts=counts)
            return
        # Should Redis stay away longer, the blob stays where it is, in the garbage set: the write may have gone
        # through unanswered (then it took the key out of the set), or not (then the blob is collected).
        settled = through_outage(
            lambda: self._entries.complete(
                entry.id,
                now=self._clock(),
                content_type=content_type,
                size=info.size,
                etag=info.sha256,
                blob_key=key,
                counts=counts,
            ),
            self._hold_seconds,
        )
        if not settled:
            discard(self._garbage, self._blobs, key, now=self._clock())
        else:
            self._unless_outage("confirm the result on a replica", self._replication.confirm)
            self._call_back(entry.id)
        self._unless_outage(
            "eviction (maintenance does it)", lambda: self._capacity.enforce_for(entry.tenant, entry.id)
        )
        log.info("produce %s: %s, %d bytes", entry.id, "active" if settled else "dropped", info.size)

    def _fail(
        self,
        entry_id: str,
        error: FetchError,
        expires_at: float | None = None,
        counts: Mapping[str, float] | None = None,
    ) -> None:
        """`expires_at` comes with the job's own failure (the upstream's): a refusal stands until then, a transient
        one backs off. The cache's own failures (storage, capacity, a lost run) answer for ERROR_TTL, uncounted, so
        an outage of ours never leaves a query backing off after it."""
        now = self._clock()
        backoff = self._error_backoff if expires_at is not None and not error.definitive else None
        if expires_at is not None and error.definitive:
            until = expires_at
        else:
            until = now + self._error_backoff.first
        settled = through_outage(
            lambda: self._entries.fail(
                entry_id,
                now=now,
                status=error.status,
                kind=error.kind,
                message=error.message,
                until=until,
                counts=counts,
                backoff=backoff,
            ),
            self._hold_seconds,
        )
        log.warning("produce %s: error %d: %s", entry_id, error.status, error.message)
        if settled:
            self._call_back(entry_id)

    def _call_back(self, entry_id: str) -> None:
        """Hand on the callbacks of the entry just settled (an outage leaves them to maintenance)."""
        callbacks = self._callbacks
        if callbacks is not None:
            self._unless_outage("callbacks (maintenance hands them on)", lambda: callbacks.dispatch(entry_id))

    def _note_progress(self, entry_id: str, progress: JobProgress) -> None:
        """A report the job made: for the entry's waiters, never a reason for the job to fail."""
        try:
            self._entries.progress(entry_id, progress)
        except Exception as exc:
            log.warning("produce %s: progress not noted: %s: %s", entry_id, type(exc).__name__, exc)

    @staticmethod
    def _unless_outage(what: str, call: Callable[[], object]) -> None:
        """Upkeep around a result is worth less than the result: an outage skips it, never the result."""
        try:
            call()
        except Exception as exc:
            if not is_outage(exc):
                raise
            log.warning("produce: %s skipped: %s", what, exc)


@contextmanager
def _result_stream(fetched: FetchResult) -> Iterator[tuple[Readable, int]]:
    """A result's bytes and their size: from memory, or from the file the job wrote, removed afterwards whatever
    happens (it is the cache's now), so a result larger than memory never enters it."""
    if not fetched.path:
        yield io.BytesIO(fetched.data), len(fetched.data)
        return
    try:
        with open(fetched.path, "rb") as file:
            yield file, os.fstat(file.fileno()).st_size
    finally:
        with suppress(FileNotFoundError):
            os.unlink(fetched.path)

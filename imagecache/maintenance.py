"""Maintenance: the periodic pass that keeps the cache consistent.

Prunes expired entries and /v1 files with their blobs, deletes blobs whose
entry is gone,
and hands pending entries whose job was lost (worker killed, queue flushed,
host crashed) back to the queue. Safe to run on many hosts at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from imagecache.blobs import BlobStore, StorageError
from imagecache.capacity import Capacity
from imagecache.entries import EntryStore
from imagecache.entry import Entry
from imagecache.files import FileCache
from imagecache.service import JobQueue

log = logging.getLogger(__name__)

TEMPORARY_MAX_AGE = 6 * 3600  # longer than any upload could take


@dataclass
class PassReport:
    pruned: int = 0
    pruned_files: int = 0
    evicted: int = 0
    collected: int = 0
    restored: int = 0


class Maintenance:
    def __init__(
        self,
        entries: EntryStore,
        files: FileCache,
        capacity: Capacity,
        blobs: BlobStore,
        jobs: JobQueue,
        *,
        grace: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._entries = entries
        self._files = files
        self._capacity = capacity
        self._blobs = blobs
        self._jobs = jobs
        self._grace = grace
        self._clock = clock

    def run_pass(self) -> PassReport:
        self._jobs.clean()
        report = PassReport(
            pruned=self.prune(), pruned_files=self._files.prune(), evicted=self._capacity.enforce(),
            collected=self.collect_garbage(), restored=self.restore_lost(),
        )
        self._blobs.sweep(older_than=TEMPORARY_MAX_AGE)
        if any(vars(report).values()):
            log.info("maintenance: %s", report)
        return report

    def prune(self) -> int:
        pruned = 0
        while ids := self._entries.expired_ids(self._clock()):
            for entry_id in ids:
                pruned += self._entries.delete(entry_id, Entry.blob_key_for(entry_id), self._clock())
        return pruned

    def collect_garbage(self) -> int:
        collected = 0
        garbage = self._entries.garbage
        for key in garbage.due(self._clock()):
            try:
                self._blobs.delete(key)
            except StorageError as exc:
                log.warning("maintenance: cannot delete blob %s yet: %s", key, exc)
                break
            garbage.forget(key)
            collected += 1
        return collected

    def restore_lost(self) -> int:
        """Re-enqueue pending entries that no queued or running job will settle."""
        restored = 0
        cutoff = self._clock() - self._grace
        for pending in self._entries.pending():
            if pending.enqueued_at > cutoff or self._jobs.is_alive(pending.id):
                continue
            if self._entries.mark_enqueued(pending.id, self._clock()):
                log.info("maintenance: restoring lost fetch of %s", pending.id)
                self._jobs.enqueue(pending.id)
                restored += 1
        return restored

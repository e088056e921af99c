"""Maintenance: the periodic pass that keeps the cache consistent.

Prunes expired entries and /v1 files with their blobs, deletes blobs whose
entry is gone, and hands pending entries whose job was lost (worker killed,
queue flushed, host crashed) back to the queue. Safe to run on many hosts at
once. Each entry, file and garbage key is handled on its own: one that fails
is logged, counted and passed over, and the pass goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from imagecache.blobs import BlobStore, StorageUnavailable
from imagecache.capacity import Capacity
from imagecache.entries import EntryStore
from imagecache.entry import Entry
from imagecache.files import FileCache
from imagecache.item_sweep import ItemSweep
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
    errors: int = 0


class Maintenance:
    def __init__(
        self,
        entries: EntryStore,
        files: FileCache,
        capacity: Capacity,
        blobs: BlobStore,
        jobs: JobQueue,
        sweep: ItemSweep,
        *,
        grace: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._entries = entries
        self._files = files
        self._capacity = capacity
        self._blobs = blobs
        self._jobs = jobs
        self._sweep = sweep
        self._grace = grace
        self._clock = clock

    def run_pass(self) -> PassReport:
        self._jobs.clean()
        failed_before = self._sweep.failures
        report = PassReport(
            pruned=self.prune(), pruned_files=self.prune_files(), evicted=self._capacity.enforce(),
            collected=self.collect_garbage(), restored=self.restore_lost(),
        )
        report.errors = self._sweep.failures - failed_before
        self._blobs.sweep(older_than=TEMPORARY_MAX_AGE)
        if any(vars(report).values()):
            log.info("maintenance: %s", report)
        return report

    def prune(self) -> int:
        return self._sweep.run(
            "maintenance: pruning entry",
            lambda skip: self._entries.expired_ids(self._clock(), skip),
            lambda entry_id: self._entries.delete(entry_id, Entry.blob_key_for(entry_id), self._clock()),
        )

    def prune_files(self) -> int:
        return self._sweep.run("maintenance: pruning file", self._files.expired, self._files.remove_expired)

    def collect_garbage(self) -> int:
        try:
            return self._sweep.run("maintenance: deleting blob",
                                   lambda skip: self._entries.garbage.due(self._clock(), skip), self._collect)
        except StorageUnavailable as exc:
            log.warning("maintenance: cannot delete blobs yet: %s", exc)
            return 0

    def _collect(self, blob_key: str) -> bool:
        self._blobs.delete(blob_key)
        self._entries.garbage.forget(blob_key)
        return True

    def restore_lost(self) -> int:
        """Re-enqueue pending entries that no queued or running job will settle."""
        return sum(bool(self._sweep.guard("maintenance: restoring entry", entry_id, self._restore_if_lost))
                   for entry_id in self._entries.pending_ids())

    def _restore_if_lost(self, entry_id: str) -> bool:
        pending = self._entries.pending_entry(entry_id)
        if pending is None or pending.enqueued_at > self._clock() - self._grace or self._jobs.is_alive(entry_id):
            return False
        if not self._entries.mark_enqueued(entry_id, self._clock()):
            return False
        log.info("maintenance: restoring lost fetch of %s", entry_id)
        self._jobs.enqueue(entry_id)
        return True

"""Maintenance: the periodic pass that keeps the cache consistent.

Prunes expired entries and /v1 files with their blobs, deletes blobs whose
entry is gone, and hands pending entries whose job was lost (worker killed,
queue flushed, host crashed) back to the queue (recovery.py). Each step looks
only at what is due (expired, queued for deletion, due for a check), so a pass
with nothing due costs a few round trips however much the cache holds. Each
entry, file and garbage key is handled on its own: one that fails is logged,
counted and passed over, and the pass goes on. Safe to run on many hosts at
once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from imagecache.domain.errors import StorageUnavailable
from imagecache.domain.ports import EntryUpkeep, JobQueue
from imagecache.services.blob_lifecycle import BlobKeeping
from imagecache.services.callbacks import CallbackDispatch
from imagecache.services.file_cache import FileCache
from imagecache.services.item_sweep import ItemOutcome, ItemSweep, one_by_one
from imagecache.services.recovery import Recovery

log = logging.getLogger(__name__)

TEMPORARY_MAX_AGE = 6 * 3600  # longer than any upload could take


@dataclass
class PassReport:
    pruned: int = 0
    pruned_files: int = 0
    evicted: int = 0
    collected: int = 0
    restored: int = 0
    callbacks: int = 0
    errors: int = 0


class Maintenance:
    def __init__(
        self,
        entries: EntryUpkeep,
        files: FileCache,
        keeping: BlobKeeping,
        jobs: JobQueue,
        recovery: Recovery,
        sweep: ItemSweep,
        *,
        callbacks: CallbackDispatch | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._callbacks = callbacks
        self._entries = entries
        self._files = files
        self._capacity = keeping.capacity
        self._blobs = keeping.blobs
        self._garbage = keeping.garbage
        self._jobs = jobs
        self._recovery = recovery
        self._sweep = sweep
        self._clock = clock

    def run_pass(self) -> PassReport:
        self._jobs.clean()
        failed_before = self._sweep.failures
        report = PassReport(
            pruned=self.prune(),
            pruned_files=self.prune_files(),
            evicted=self._capacity.enforce(),
            collected=self.collect_garbage(),
            restored=self.recover_lost(),
            callbacks=self._callbacks.dispatch_left_behind() if self._callbacks else 0,
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
            lambda entry_ids: self._entries.delete_expired(entry_ids, self._clock()),
        )

    def prune_files(self) -> int:
        return self._sweep.run("maintenance: pruning file", self._files.expired, one_by_one(self._files.remove_expired))

    def collect_garbage(self) -> int:
        try:
            return self._sweep.run(
                "maintenance: deleting blob", lambda skip: self._garbage.due(self._clock(), skip), self._collect
            )
        except StorageUnavailable as exc:
            log.warning("maintenance: cannot delete blobs yet: %s", exc)
            return 0

    def _collect(self, blob_keys: list[str]) -> list[ItemOutcome]:
        """Each blob deleted from storage on its own; the deleted ones forgotten in one round trip."""
        outcomes = one_by_one(self._blobs.delete)(blob_keys)
        self._garbage.forget(*(key for key, outcome in zip(blob_keys, outcomes) if not isinstance(outcome, Exception)))
        return [outcome if isinstance(outcome, Exception) else True for outcome in outcomes]

    def recover_lost(self) -> int:
        """Hand out again the entries whose worker died and those whose job never reached a worker."""
        return self._recovery.recover_abandoned() + self._recovery.recover_unqueued()

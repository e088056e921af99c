"""Recovery: pending entries that no worker will settle are handed to a worker again, in seconds.

Two ways an entry is lost, each found at the cost of what is due, not of
what the cache holds:
- its worker process died mid-job: its lease lapses (index/leases.py), and
  every worker notices within a second or two of a lease TTL;
- its job never reached a worker (a crash between the request and its
  enqueue, a queue emptied with its jobs): each pending entry not yet claimed
  is due for a check `pickup_grace` after it was enqueued; maintenance looks
  at the due ones only, and asks the queue about them in one round trip per
  batch (a job's status is taken at its word: a job whose queue list alone was
  lost is not found).
A worker that ends a job without settling its entry (a bug, an outage that
outlasted its patience) releases it at its next tick.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from imagecache.domain.ports import EntryUpkeep, JobQueue
from imagecache.services.item_sweep import ItemSweep
from imagecache.services.job_kinds import JobKinds

log = logging.getLogger(__name__)


class Recovery:
    def __init__(
        self,
        entries: EntryUpkeep,
        jobs: JobQueue,
        kinds: JobKinds,
        sweep: ItemSweep,
        *,
        lease_ttl: float,
        pickup_grace: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._entries = entries
        self._jobs = jobs
        self._kinds = kinds
        self._sweep = sweep
        self._lease_ttl = lease_ttl
        self._pickup_grace = pickup_grace
        self._clock = clock

    def recover_abandoned(self) -> int:
        """Entries whose worker's lease has been missing for a whole TTL."""
        return self._requeue_all("abandoned by its worker", self._entries.lost_by_leases(self._lease_ttl))

    def release_strays(self, lease: str, producing: set[str]) -> int:
        """Entries this process holds but no longer produces."""
        return self._requeue_all("released by its worker", self._entries.release_strays(lease, producing))

    def recover_unqueued(self) -> int:
        """Due entries whose job is neither queued nor running: the rest are looked at again later."""
        recovered = 0
        while due := self._entries.due_ids(self._clock()):
            self._entries.check_again_at(due, self._clock() + self._pickup_grace)  # each is looked at once a pass
            waiting = self._jobs.waiting(due)
            recovered += self._requeue_all("never picked up", [i for i in due if i not in waiting])
        return recovered

    def _requeue_all(self, why: str, entry_ids: list[str]) -> int:
        return sum(bool(self._sweep.guard(f"recovery: requeueing ({why})", i, self._requeue)) for i in entry_ids)

    def _requeue(self, entry_id: str) -> bool:
        now = self._clock()
        requeued = self._entries.requeue(entry_id, now, now + self._pickup_grace)
        if requeued is None:
            return False
        job, tenant = requeued
        log.info("recovery: %s handed to a worker again", entry_id)
        self._jobs.enqueue_again(entry_id, self._kinds.settings_for(job), tenant)
        return True

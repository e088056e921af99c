"""Completions: finished jobs committed to RQ in groups, one round trip for all that finished meanwhile.

Under load many jobs finish while one commit is on the wire, so the next
commit carries them all; alone, a job's commit follows it at once. A commit
that meets an outage is kept and tried again: a job's upstream slot is only
freed once its commit lands.
"""

from __future__ import annotations

import logging
import queue
import threading

from imagecache.queueing.job_batches import FinishedJob, RqJobBatches

log = logging.getLogger(__name__)

MOST_PER_COMMIT = 500  # bounds one Lua call's time in Redis
RETRY_DELAY = 0.5


class Completions:
    def __init__(self, batches: RqJobBatches) -> None:
        self._batches = batches
        self._finished: queue.SimpleQueue[FinishedJob] = queue.SimpleQueue()

    def add(self, job: FinishedJob) -> None:
        self._finished.put(job)

    def run(self, stopped: threading.Event) -> None:
        """Commit until `stopped` is set and nothing is left (a commit Redis refuses then is left to RQ's cleanup)."""
        while not (stopped.is_set() and self._finished.empty()):
            try:
                batch = [self._finished.get(timeout=0.2)]
            except queue.Empty:
                continue
            while len(batch) < MOST_PER_COMMIT and not self._finished.empty():
                batch.append(self._finished.get_nowait())
            self._commit(batch, stopped)

    def _commit(self, batch: list[FinishedJob], stopped: threading.Event) -> None:
        while True:
            try:
                self._batches.finish(batch)
                return
            except Exception as exc:  # Redis away: keep the batch
                log.warning("worker: committing %d finished jobs failed: %s: %s", len(batch), type(exc).__name__, exc)
                if stopped.wait(RETRY_DELAY):
                    return

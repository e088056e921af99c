"""Completions: finished jobs committed to RQ in groups, one round trip for all that finished meanwhile.

A commit waits LINGER for others to join it, and under load many jobs finish
while one commit is on the wire, so one commit carries many. The linger
delays only the freeing of upstream slots (a waiting GET is woken by the
entry's own completion, not by this). A commit that meets an outage is kept
and tried again: a job's upstream slot is only freed once its commit lands.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from imagecache.queueing.job_batches import FinishedJob, RqJobBatches

log = logging.getLogger(__name__)

MOST_PER_COMMIT = 500  # bounds one Lua call's time in Redis
LINGER = 0.01
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
            deadline = time.monotonic() + LINGER
            while len(batch) < MOST_PER_COMMIT and (left := deadline - time.monotonic()) > 0:
                try:
                    batch.append(self._finished.get(timeout=left))
                except queue.Empty:
                    break
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

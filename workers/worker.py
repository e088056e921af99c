"""The worker: one process running up to WORKER_CONCURRENCY jobs at once, RQ's jobs run our way.

Jobs are RQ jobs in RQ's queue, under RQ's rate limit (the upstream cap
across hosts), in RQ's registries. What RQ's own worker does per job in a
dozen round trips and a thread's worth of heartbeats, this one does per batch
(queueing/job_batches.py): one thread takes as many queued jobs as there are
free slots and marks them started in one call; runner threads produce their
entries; finished jobs are committed in groups (completions.py). Whether an
entry's work is lost is the process lease's business (index/leases.py), told
within seconds; RQ's registries stay right for RQ's tooling and cleanup.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable

from imagecache.composition import Components
from imagecache.domain.request_context import request_id
from imagecache.ops.heartbeat import beat
from imagecache.queueing.job_batches import FinishedJob, TakenJob
from imagecache.queueing.presence import RqWorkerPresence, SlotReport
from workers.completions import Completions
from workers.process import start_process
from workers.stop_signals import shielded, stop_on_signals
from workers.watchdog import JobTimedOut, Watchdog

log = logging.getLogger(__name__)

WORKER_TTL = 20  # RQ's worker records lapse this long (plus RQ's 60 s) after the last heartbeat
HEARTBEAT_EVERY = 5.0
WAIT_FOR_WORK = 1  # seconds the taker blocks on an empty queue between stop checks
SHUTDOWN_GRACE = 60.0
RESTART_DELAY = 1.0
LEASE_TICK = 0.5  # renewals and checks: a lease seen missing is declared lost within a tick of its TTL


class Slots:
    """How many more jobs this process may run now."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._free = size
        self._changed = threading.Condition()

    def wait_free(self, stopped: threading.Event) -> int:
        with self._changed:
            while not self._free and not stopped.is_set():
                self._changed.wait(0.5)
            return self._free

    def occupy(self, count: int) -> None:
        with self._changed:
            self._free -= count

    def release(self) -> None:
        with self._changed:
            self._free += 1
            self._changed.notify_all()

    def wait_idle(self, deadline: float) -> None:
        with self._changed:
            while self._free < self.size and time.monotonic() < deadline:
                self._changed.wait(0.1)


class EntryWorker:
    def __init__(self, components: Components) -> None:
        self._components = components
        config = components.config
        self._name = f"imagecache-{uuid.uuid4().hex[:8]}"
        self._slots = Slots(config.worker_concurrency)
        self._batches = components.job_batches
        self._completions = Completions(self._batches)
        self._watchdog = Watchdog()
        self._work: queue.SimpleQueue[TakenJob | None] = queue.SimpleQueue()
        self._presence = RqWorkerPresence(
            components.rq_redis,
            components.jobs.queue,
            [f"{self._name}-{n}" for n in range(self._slots.size)],
            WORKER_TTL,
        )
        self._reports = [SlotReport() for _ in range(self._slots.size)]  # one per runner thread, its totals
        self._sent = [SlotReport() for _ in range(self._slots.size)]
        self._stop = threading.Event()  # no more jobs are taken
        self._drained = threading.Event()  # every taken job has ended

    def run(self) -> None:
        """Work until SIGTERM/SIGINT, then let running jobs finish."""
        stop_on_signals(self._stop, "worker: stopping, letting running jobs finish")
        self._components.lease.renew()  # before any job can claim an entry under it
        self._arrive()
        keepers = [
            self._thread(self._every_tick, LEASE_TICK, self._renew_lease),
            self._thread(self._every_tick, LEASE_TICK, self._recover),
            self._thread(self._every_tick, HEARTBEAT_EVERY, self._beat),
            self._thread(self._completions.run, self._drained),
            self._thread(self._watchdog.run, self._drained),
        ]
        runners = [self._thread(self._run_jobs, report) for report in self._reports]
        taker = self._thread(self._take_jobs)
        log.info("worker: %d slots on queue %s", self._slots.size, self._components.jobs.queue.name)
        self._stop.wait()
        taker.join()
        self._slots.wait_idle(time.monotonic() + SHUTDOWN_GRACE)
        for _ in runners:
            self._work.put(None)
        self._drained.set()
        for thread in keepers:
            thread.join()
        self._leave()

    @staticmethod
    def _thread(target: Callable[..., object], *args: object) -> threading.Thread:
        thread = threading.Thread(target=shielded(target), args=args, daemon=True)
        thread.start()
        return thread

    def _take_jobs(self) -> None:
        """Take as many queued jobs as there are free slots; once the queue runs dry, the next take waits for its
        next job first (asking again at once would cost an empty take per job under a steady trickle). A stop
        told during that wait still takes what came in it, and runs it within the shutdown grace."""
        wait = 0
        while not self._stop.is_set():
            free = self._slots.wait_free(self._stop)
            if self._stop.is_set():
                return
            try:
                taken, foreign = self._batches.take(free, self._name, wait)
                self._hand_out(taken, foreign)
                wait = WAIT_FOR_WORK if len(taken) + len(foreign) < free else 0
            except Exception as exc:  # Redis away: try again shortly
                log.warning("worker: taking jobs failed: %s: %s", type(exc).__name__, exc)
                self._stop.wait(RESTART_DELAY)

    def _hand_out(self, taken: list[TakenJob], foreign: list[FinishedJob]) -> None:
        for refused in foreign:
            log.error("worker: job %s failed: %s", refused.job_id, refused.failure)
            self._completions.add(refused)
        self._slots.occupy(len(taken))
        for job in taken:
            self._work.put(job)

    def _run_jobs(self, report: SlotReport) -> None:
        while (job := self._work.get()) is not None:
            report.busy, started = True, time.monotonic()
            failure = self._run(job)
            self._completions.add(FinishedJob(job.job_id, job.started, job.kind, failure))
            report.busy = False
            report.working_seconds += time.monotonic() - started
            if failure:
                report.failed += 1
            else:
                report.finished += 1
            self._slots.release()

    def _run(self, job: TakenJob) -> str:
        """Produce the job's entry; what went wrong, or '' when nothing did."""
        token = request_id.set(job.request_id)
        try:
            self._watchdog.start_job(job.timeout)
            try:
                self._components.producer.produce(job.entry_id)
            finally:
                self._watchdog.end_job()
        except JobTimedOut:
            log.error("produce %s: ran past its job timeout of %d s", job.entry_id, job.timeout)
            return f"JobTimedOut: ran past its timeout of {job.timeout} s"
        except Exception as exc:  # a bug: its entry is handed out again (recovery), up to MAX_FETCH_ATTEMPTS
            log.exception("produce %s: failed", job.entry_id)
            return f"{type(exc).__name__}: {exc}"
        finally:
            request_id.reset(token)
        return ""

    def _every_tick(self, period: float, task: Callable[[], object]) -> None:
        """Until running jobs have ended (the lease must outlive them), each in its own thread: a slow
        recovery never delays a renewal."""
        while not self._drained.wait(period):
            try:
                task()
            except Exception as exc:  # Redis away: the next tick tries again
                log.warning("worker: %s failed: %s: %s", task.__name__, type(exc).__name__, exc)

    def _renew_lease(self) -> None:
        self._components.lease.renew()
        beat("worker")  # for the container's health check: alive and reaching Redis

    def _recover(self) -> None:
        """Hand out again what this process dropped and what dead processes left."""
        components = self._components
        with components.producer.producing() as producing:
            components.recovery.release_strays(components.lease.id, producing)
        components.recovery.recover_abandoned()

    def _beat(self) -> None:
        """Each slot's news since the last beat that landed (its runner only ever adds to its totals: one writer;
        this thread remembers what it has sent), and the job kinds this process runs."""
        totals = [SlotReport(r.busy, r.finished, r.failed, r.working_seconds) for r in self._reports]
        news = [
            SlotReport(
                now.busy,
                now.finished - sent.finished,
                now.failed - sent.failed,
                now.working_seconds - sent.working_seconds,
            )
            for now, sent in zip(totals, self._sent)
        ]
        self._presence.beat(news)
        self._sent = totals
        components = self._components
        components.job_directory.advertise(self._name, components.job_catalog.settings(), time.time(), WORKER_TTL)

    def _arrive(self) -> None:
        """The slots' records at once, not a heartbeat later; Redis unreachable at start: work anyway (the records
        come with the first heartbeat that lands)."""
        try:
            self._beat()
        except Exception as exc:
            log.warning("worker: registering with RQ failed: %s: %s", type(exc).__name__, exc)

    def _leave(self) -> None:
        components = self._components
        for farewell in (
            self._presence.leave,
            functools.partial(components.job_directory.withdraw, self._name),
            components.lease.end,
        ):
            try:
                farewell()
            except Exception as exc:  # each lapses by itself
                log.warning("worker: %s failed: %s", type(exc).__name__, exc)


def main() -> int:
    """The worker process (`imagecache worker`): configuration from the environment."""
    components = start_process()
    if components is None:
        return 2
    EntryWorker(components).run()
    return 0

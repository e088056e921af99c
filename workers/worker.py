"""The worker: one process running WORKER_CONCURRENCY RQ workers as threads.

RQ runs one job per worker; fetches spend their time waiting on the network,
so threads give many in-flight fetches per core without a process (and a
fork) per job. Each thread is a full RQ worker, visible to RQ's tooling.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable
from types import FrameType

from redis.exceptions import RedisError
from rq import SimpleWorker
from rq.executions import Execution
from rq.job import Job
from rq.queue import Queue
from rq.timeouts import TimerDeathPenalty
from rq.worker import WorkerStatus

from imagecache.composition import Components
from workers import jobs
from workers.process import start_process

log = logging.getLogger(__name__)

WORKER_TTL = 20  # RQ blocks in dequeue for WORKER_TTL - 15 s between stop checks
SHUTDOWN_GRACE = 60.0
RESTART_DELAY = 1.0
LEASE_TICK = 0.5  # renewals and checks: a lease seen missing is declared lost within a tick of its TTL


class ThreadWorker(SimpleWorker):
    """An RQ worker that lives in a thread and keeps RQ's job heartbeat going.

    The heartbeat keeps RQ's own registries right; whether an entry's work is
    lost is the process lease's business (imagecache/index/leases.py), which
    tells within seconds instead of a heartbeat's 30.
    """

    death_penalty_class = TimerDeathPenalty
    heartbeat_ttl = 30

    def _install_signal_handlers(self) -> None:
        """Signals belong to the process; `ThreadPool` stops its workers."""

    def subscribe(self) -> None:
        """No command channel: its commands (kill the work horse) mean nothing to a thread."""

    def unsubscribe(self) -> None:
        """Nothing was subscribed."""

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        return self.heartbeat_ttl

    def execute_job(self, job: Job, queue: Queue) -> None:
        execution = self.prepare_execution(job)
        done = threading.Event()
        beat = threading.Thread(target=self._beat, args=(job, execution, done), daemon=True)
        beat.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            done.set()
            beat.join()
        self.set_state(WorkerStatus.IDLE)

    def _beat(self, job: Job, execution: Execution, done: threading.Event) -> None:
        while not done.wait(self.heartbeat_ttl / 3):
            try:
                self.maintain_heartbeats(job, execution)
            except RedisError as exc:  # a missed beat is retried; the job goes on
                log.warning("heartbeat for job %s missed: %s", job.id, type(exc).__name__)


class ThreadPool:
    def __init__(self, components: Components) -> None:
        self._components = components
        self._stop = threading.Event()
        self._drained = threading.Event()
        ThreadWorker.heartbeat_ttl = components.config.job_heartbeat_ttl
        host = uuid.uuid4().hex[:8]
        self.workers = [
            ThreadWorker(
                [components.jobs.queue],
                connection=components.rq_redis,
                name=f"imagecache-{host}-{n}",
                worker_ttl=WORKER_TTL,
            )
            for n in range(components.config.worker_concurrency)
        ]

    def run(self) -> None:
        """Work until SIGTERM/SIGINT, then let running jobs finish."""
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        self._components.lease.renew()  # before any thread can claim an entry under it
        keepers = [
            threading.Thread(target=self._every_tick, args=(task,), name=task.__name__, daemon=True)
            for task in (self._renew_lease, self._recover)
        ]
        for keeper in keepers:
            keeper.start()
        threads = [
            threading.Thread(target=self._keep_working, args=(w,), name=w.name, daemon=True) for w in self.workers
        ]
        for thread in threads:
            thread.start()
        log.info("worker: %d threads on queue %s", len(threads), self._components.jobs.queue.name)
        self._stop.wait()
        self._drain()
        self._drained.set()
        for keeper in keepers:
            keeper.join()
        self._end_lease()

    def _every_tick(self, task: Callable[[], object]) -> None:
        """Until running jobs have finished (the lease must outlive them), each in its own thread: a slow
        recovery never delays a renewal."""
        while not self._drained.wait(LEASE_TICK):
            try:
                task()
            except Exception as exc:  # Redis away: the next tick tries again
                log.warning("worker: %s failed: %s: %s", task.__name__, type(exc).__name__, exc)

    def _renew_lease(self) -> None:
        self._components.lease.renew()

    def _recover(self) -> None:
        """Hand out again what this process dropped and what dead processes left."""
        components = self._components
        with components.producer.producing() as producing:
            components.recovery.release_strays(components.lease.id, producing)
        components.recovery.recover_abandoned()

    def _end_lease(self) -> None:
        try:
            self._components.lease.end()
        except RedisError:  # it lapses by itself
            pass

    def _keep_working(self, worker: ThreadWorker) -> None:
        """RQ's loop ends on a Redis error mid-job; a thread must outlive a Redis outage."""
        while not self._stop.is_set():
            try:
                worker.work(logging_level="WARNING")
            except Exception as exc:  # Redis unreachable at (re)start: try again shortly
                log.warning("worker %s: %s", worker.name, type(exc).__name__)
            if not self._stop.wait(RESTART_DELAY):
                log.info("worker %s: restarting its work loop", worker.name)

    def _request_stop(self, signum: int, frame: FrameType | None) -> None:
        log.info("worker: stopping, letting running jobs finish")
        for worker in self.workers:
            worker._stop_requested = True
        self._stop.set()

    def _drain(self) -> None:
        deadline = time.monotonic() + SHUTDOWN_GRACE
        while time.monotonic() < deadline and any(w.get_state() == WorkerStatus.BUSY for w in self.workers):
            time.sleep(0.1)
        for worker in self.workers:
            if worker.get_state() != WorkerStatus.BUSY:
                try:
                    worker.register_death()
                except RedisError:  # it expires from Redis by itself
                    pass


def run_worker(components: Components) -> None:
    jobs.install(components)
    ThreadPool(components).run()


def main() -> int:
    """The worker process (`imagecache worker`): configuration from the environment."""
    components = start_process()
    if components is None:
        return 2
    run_worker(components)
    return 0

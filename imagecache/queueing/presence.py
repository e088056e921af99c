"""RqWorkerPresence: our worker's job slots, registered as RQ workers so that `rq info` and /info count them.

Each slot is an RQ worker record (birth, heartbeat, death), written for all of
a process's slots in one round trip; each slot's state and job counts (RQ's
`successful_job_count`, `failed_job_count`, `total_working_time`) are brought
up to date at each heartbeat, not at each job.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis
from rq import Worker
from rq.queue import Queue
from rq.worker import WorkerStatus


@dataclass
class SlotReport:
    """What one slot did since the last heartbeat, and whether it is running a job now."""

    busy: bool = False
    finished: int = 0
    failed: int = 0
    working_seconds: float = 0.0


class RqWorkerPresence:
    def __init__(self, connection: Redis, queue: Queue, names: list[str], ttl: int) -> None:
        self._connection = connection
        self._slots = [Worker([queue], connection=connection, name=name, worker_ttl=ttl) for name in names]
        self._arrived = False

    def arrive(self) -> None:
        for slot in self._slots:
            slot.register_birth()
        self._arrived = True

    def beat(self, reports: list[SlotReport]) -> None:
        """Keep the records alive (registered first, if Redis was away at the start) and add what each slot did."""
        if not self._arrived:
            self.arrive()
        with self._connection.pipeline() as pipe:
            for slot, report in zip(self._slots, reports):
                slot.heartbeat(pipeline=pipe)
                slot.set_state(WorkerStatus.BUSY if report.busy else WorkerStatus.IDLE, pipeline=pipe)
                if report.finished:
                    pipe.hincrby(slot.key, "successful_job_count", report.finished)
                if report.failed:
                    pipe.hincrby(slot.key, "failed_job_count", report.failed)
                if report.working_seconds:
                    pipe.hincrbyfloat(slot.key, "total_working_time", report.working_seconds)
            pipe.execute()

    def leave(self) -> None:
        for slot in self._slots:
            slot.register_death()

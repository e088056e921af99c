"""RqWorkerPresence: our worker's job slots, registered as RQ workers so that `rq info` and /info count them.

Each slot is an RQ worker record, written for all of a process's slots in one
round trip at each heartbeat: the record itself and its place in RQ's worker
registry (so one lost with Redis, or never written, comes back by itself), the
slot's state and what it ran (RQ's `successful_job_count`, `failed_job_count`,
`total_working_time`), at each heartbeat rather than at each job.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis
from rq import Worker, worker_registration
from rq.queue import Queue
from rq.utils import now
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
        for slot in self._slots:
            slot.birth_date = now()

    def beat(self, reports: list[SlotReport]) -> None:
        """Write each slot's record and keep it alive, with its state and what it did since the last beat."""
        with self._connection.pipeline() as pipe:
            for slot, report in zip(self._slots, reports):
                slot.last_heartbeat = now()
                pipe.hset(slot.key, mapping=slot.serialize())
                worker_registration.register(slot, pipe)
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

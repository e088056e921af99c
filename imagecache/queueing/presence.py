"""RqWorkerPresence: our worker's job slots, registered as RQ workers so that `rq info` and /info count them.

Each slot is an RQ worker record (birth, heartbeat, death), written for all of
a process's slots in one round trip; the slots' states are brought up to date
at each heartbeat, not at each job.
"""

from __future__ import annotations

from redis import Redis
from rq import Worker
from rq.queue import Queue
from rq.worker import WorkerStatus


class RqWorkerPresence:
    def __init__(self, connection: Redis, queue: Queue, names: list[str], ttl: int) -> None:
        self._connection = connection
        self._slots = [Worker([queue], connection=connection, name=name, worker_ttl=ttl) for name in names]
        self._arrived = False

    def arrive(self) -> None:
        for slot in self._slots:
            slot.register_birth()
        self._arrived = True

    def beat(self, busy: int) -> None:
        """Keep the records alive (registered first, if Redis was away at the start); the first `busy` slots
        show as busy, the rest idle."""
        if not self._arrived:
            self.arrive()
        with self._connection.pipeline() as pipe:
            for n, slot in enumerate(self._slots):
                slot.heartbeat(pipeline=pipe)
                slot.set_state(WorkerStatus.BUSY if n < busy else WorkerStatus.IDLE, pipeline=pipe)
            pipe.execute()

    def leave(self) -> None:
        for slot in self._slots:
            slot.register_death()

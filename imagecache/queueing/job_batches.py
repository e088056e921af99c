"""RqJobBatches: RQ jobs taken off their queue and finished many at a time, one Lua call per batch.

RQ's own worker spends a dozen round trips on each job (dequeue, fetch, a
started-registry transaction, heartbeats, a success transaction, the rate
limit's release). Our worker does the same bookkeeping, on the same keys, for
a whole batch at once (queueing/lua/jobs_*.lua): jobs stay RQ jobs in RQ's
queue and registries, visible to `rq info`, cleaned up by RQ's own cleanup
should a worker die with them.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from redis import Redis
from redis.exceptions import NoScriptError
from rq.job import Job
from rq.queue import Queue
from rq.rate_limit import RateLimit, RateLimitRegistry
from rq.registry import FailedJobRegistry, StartedJobRegistry

from imagecache.queueing.rq_queue import FAILURE_TTL, JOB_FUNCTION
from imagecache.redis_access import scripts

ABANDON_GRACE = 60  # RQ's cleanup calls a started job abandoned this long past its timeout


@dataclass(frozen=True)
class TakenJob:
    """One of our jobs, started: the entry it produces and the request that asked for it."""

    job_id: str
    entry_id: str
    request_id: str
    timeout: int
    started: str  # the stamp it was started with: finishing it touches this run only
    kind: str  # its job kind


@dataclass(frozen=True)
class FinishedJob:
    job_id: str
    started: str
    kind: str  # whose upstream slot it frees
    failure: str = ""  # what went wrong, for RQ's failed registry; empty when the job finished


class ForeignJob(ValueError):
    """A job in our queue that calls something other than ours: it fails, nothing runs."""


class RqJobBatches:
    def __init__(
        self,
        connection: Redis,
        queue: Queue,
        rate_limit: Callable[[str], RateLimit],
        registry: Callable[[str], RateLimitRegistry],
        execution_id: str,
    ) -> None:
        self._connection = connection
        self._queue = queue
        self._rate_limit = rate_limit  # each job kind's cap, by name
        self._registry = registry  # a cap's RQ registry, by the cap's key
        self._take_keys = [queue.key, StartedJobRegistry(queue=queue).key]
        self._finish_keys = [*self._take_keys[1:], FailedJobRegistry(queue=queue).key]
        self._execution_id = execution_id
        self._take = scripts.register(connection, "jobs_take", "imagecache.queueing")
        self._finish = scripts.register(connection, "jobs_finish", "imagecache.queueing")

    def take(self, most: int, worker_name: str, wait: int = 0) -> tuple[list[TakenJob], list[FinishedJob]]:
        """Up to `most` queued jobs, started under this worker; and those it cannot run (not ours, or data it
        cannot read), failed at once. With `wait`, first until the queue holds a job or `wait` seconds pass, in
        the same round trip: the wait takes nothing (the head goes back where it was, the line keeps its order),
        so a job is only ever off the queue once it is marked started (a popped job lost with its worker would be
        lost for good)."""
        args: list[str | int] = [most, worker_name, Job.redis_job_namespace_prefix, self._execution_id, ABANDON_GRACE]
        raw = self._take_after(wait, args) if wait else self._take(keys=self._take_keys, args=args)
        stamp = raw[0].decode()
        taken: list[TakenJob] = []
        foreign: list[FinishedJob] = []
        for job_id, data, timeout in zip(raw[1::3], raw[2::3], raw[3::3]):
            ident = job_id.decode()
            try:
                taken.append(self._decode(ident, data, int(timeout), stamp))
            except Exception as exc:  # one unreadable job fails alone; the batch is started and must run
                foreign.append(FinishedJob(ident, stamp, "", f"{type(exc).__name__}: {exc}"))
        return taken, foreign

    def _take_after(self, wait: int, args: list[str | int]) -> list[bytes]:
        """The take sent in one pipeline behind a blocking wait (Redis runs it once the wait ends): one round trip,
        where waiting then taking made two for each job of a trickle."""
        key = self._queue.key
        with self._connection.pipeline(transaction=False) as pipe:
            pipe.blmove(key, key, wait, "LEFT", "LEFT")
            pipe.evalsha(self._take.sha, len(self._take_keys), *self._take_keys, *args)
            try:
                return cast(list[bytes], pipe.execute()[-1])
            except NoScriptError:  # Redis has lost its scripts (restarted): taking through the script loads it
                return cast(list[bytes], self._take(keys=self._take_keys, args=args))

    def finish(self, jobs: list[FinishedJob]) -> int:
        """Finish these jobs and let waiting ones take their upstream slots; how many were let in. One call per
        job kind among them (each kind's cap is its own)."""
        by_kind: dict[str, list[FinishedJob]] = {}
        for job in jobs:
            by_kind.setdefault(job.kind, []).append(job)
        return sum(self._finish_kind(kind, group) for kind, group in by_kind.items())

    def _finish_kind(self, kind: str, jobs: list[FinishedJob]) -> int:
        limit = self._rate_limit(kind)
        limits = self._registry(limit.key)
        triples = [value for job in jobs for value in (job.job_id, job.started, job.failure)]
        return int(
            self._finish(
                keys=[*self._finish_keys, limits.allowed_key, limits.rate_limited_key],
                args=[
                    Job.redis_job_namespace_prefix,
                    Queue.redis_queue_namespace_prefix,
                    self._execution_id,
                    FAILURE_TTL,
                    limit.concurrency,
                    *triples,
                ],
            )
        )

    def _decode(self, job_id: str, data: bytes, timeout: int, stamp: str) -> TakenJob:
        """RQ's job data (a compressed, serialized call), read with RQ's own serializer."""
        job = Job(job_id, connection=self._connection)
        try:
            job.data = zlib.decompress(data)
        except zlib.error:  # written uncompressed, as RQ's restore allows
            job.data = data
        if job.func_name != JOB_FUNCTION:
            raise ForeignJob(f"{job.func_name} is not {JOB_FUNCTION}: this queue runs imagecache's jobs only")
        entry_id, request, kind = job.args
        return TakenJob(job_id, entry_id, request, timeout, stamp, kind)

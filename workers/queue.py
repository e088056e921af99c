"""FetchQueue: hands entries to RQ workers, under one upstream concurrency cap.

The cap is RQ's own RateLimit: it is kept in Redis, so it holds across every
worker on every host. Each entry has one job id, so a restored entry replaces
its lost job instead of adding a second one.
"""

from __future__ import annotations

from redis import Redis
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job, JobStatus
from rq.rate_limit import RateLimit, RateLimitRegistry
from rq.registry import StartedJobRegistry

from imagecache.logs import request_id

JOB_FUNCTION = "workers.jobs.produce_entry"
FAILURE_TTL = 24 * 3600
_WAITING = {JobStatus.STARTED, JobStatus.RATE_LIMITED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def job_id_for(entry_id: str) -> str:
    """RQ ids allow only [A-Za-z0-9_-]; entry ids carry a '.' in their expiry."""
    return "produce-" + entry_id.replace(".", "-")


class FetchQueue:
    def __init__(self, connection: Redis, prefix: str, *, upstream_limit: int, job_timeout: int) -> None:
        self._connection = connection
        self.queue = Queue(prefix.rstrip(":") + "-produce", connection=connection)
        self._rate_limit = RateLimit(prefix.rstrip(":") + "-upstream", upstream_limit)
        self._job_timeout = job_timeout

    def enqueue(self, entry_id: str) -> None:
        """The job carries the current request id, so the worker logs under it too."""
        self.queue.enqueue(
            JOB_FUNCTION,
            entry_id,
            request_id.get(),
            job_id=job_id_for(entry_id),
            job_timeout=self._job_timeout,
            result_ttl=0,
            failure_ttl=FAILURE_TTL,
            rate_limit=self._rate_limit,
            description=f"produce {entry_id}",
        )

    def is_alive(self, entry_id: str) -> bool:
        """True while a queued or running job will settle the entry."""
        job_id = job_id_for(entry_id)
        try:
            status = Job.fetch(job_id, connection=self._connection).get_status()
        except NoSuchJobError:
            return False
        if status is JobStatus.QUEUED:
            return self._is_queued(job_id)
        return status in _WAITING

    def clean(self) -> None:
        """Mark jobs whose worker died as failed (freeing their upstream slot)."""
        StartedJobRegistry(queue=self.queue).cleanup()
        RateLimitRegistry(self._rate_limit.key, self._connection).cleanup()

    def depth(self) -> int:
        return self.queue.count

    def workers(self) -> int:
        return Worker.count(queue=self.queue)

    def _is_queued(self, job_id: str) -> bool:
        intermediate = IntermediateQueue.get_intermediate_queue_key(self.queue.key)
        return any(self._connection.lpos(key, job_id) is not None for key in (self.queue.key, intermediate))

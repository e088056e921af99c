"""RqJobQueue: the JobQueue port on RQ; hands entries to RQ workers, each job kind under its own concurrency cap.

A kind's cap is RQ's own RateLimit: it is kept in Redis, so it holds across
every worker on every host. Each entry has one job id, so a restored entry
replaces its lost job instead of adding a second one.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from typing import Any, cast

from redis import Redis
from rq import Queue, Worker
from rq.job import Job, JobStatus
from rq.rate_limit import RateLimit, RateLimitRegistry
from rq.registry import FailedJobRegistry, StartedJobRegistry
from rq.utils import now, utcformat
from rq.worker_registration import clean_worker_registry

from imagecache.domain.entry_record import JobDraft
from imagecache.domain.job_settings import JobSettings
from imagecache.domain.request_context import request_id
from imagecache.redis_access import scripts
from imagecache.redis_access.keys import RedisKeys

JOB_FUNCTION = "workers.jobs.produce_entry"
FAILURE_TTL = 24 * 3600


@dataclass(frozen=True)
class _JobShape:
    """What every job of one kind shares: its fields as RQ saves them, its cap, the keys its enqueue writes beside
    its own."""

    fields: dict[str, Any]
    limit: RateLimit
    keys: tuple[str, ...]


def job_id_for(entry_id: str) -> str:
    """RQ ids allow only [A-Za-z0-9_-]; entry ids carry a '.' in their expiry."""
    return "produce-" + entry_id.replace(".", "-")


class RqJobQueue:
    def __init__(self, connection: Redis, prefix: str) -> None:
        self._connection = connection
        self._keys = keys = RedisKeys(prefix)
        self.queue = Queue(keys.rq_queue, connection=connection)
        self._enqueue = scripts.register(connection, "jobs_enqueue", "imagecache.queueing")
        self._waiting = scripts.register(connection, "jobs_waiting", "imagecache.queueing")
        self._lease_prefix = keys.lease_prefix
        self._limits: dict[tuple[str, int], RateLimit] = {}
        self._shapes: dict[JobSettings, _JobShape] = {}
        self._registries: dict[str, RateLimitRegistry] = {}

    def rate_limit(self, job: str, concurrency: int) -> RateLimit:
        """The cap of a job kind's runs; made once per kind."""
        found = self._limits.get((job, concurrency))
        if found is None:
            found = self._limits[(job, concurrency)] = RateLimit(self._keys.rq_upstream_limit(job), concurrency)
        return found

    def registry(self, limit_key: str) -> RateLimitRegistry:
        """RQ's registry of a cap, which names its keys (made once per cap: it prepares four scripts)."""
        found = self._registries.get(limit_key)
        if found is None:
            found = self._registries[limit_key] = RateLimitRegistry(limit_key, self._connection)
        return found

    def draft(self, entry_id: str, job: JobSettings, tenant: str = "") -> JobDraft:
        """The job carries the current request id, so the worker logs under it too, and its kind; its enqueue is
        RQ's rate-limited enqueue as one step, its place in line taking turns with other tenants' (enqueue.lua),
        run by whoever holds the draft: the index's request script, or `enqueue`. Made on every POST, so from
        the kind's fields as RQ writes them (`_shape`), with only what is the entry's own made anew, as RQ makes
        it: its id, when, what it says and the call."""
        shape = self._shape(job)
        job_id = job_id_for(entry_id)
        no_keywords: dict[str, Any] = {}
        call = (JOB_FUNCTION, None, (entry_id, request_id.get(), job.name), no_keywords)  # RQ's Job.data
        fields = shape.fields | {
            "created_at": utcformat(now()),
            "data": zlib.compress(self.queue.serializer.dumps(call)),
            "description": f"produce {entry_id} ({job.name})",
        }
        args = (job_id, repr(time.time()), fields["created_at"], shape.limit.key, shape.limit.concurrency)
        prefixes = (Job.redis_job_namespace_prefix, Queue.redis_queue_namespace_prefix, tenant)
        pairs = (value for pair in fields.items() for value in pair)
        return JobDraft((Job.redis_job_namespace_prefix + job_id, *shape.keys), (*args, *prefixes, *pairs))

    def _shape(self, job: JobSettings) -> _JobShape:
        """A kind's job as RQ saves it (RQ's own create_job and to_dict, once per kind and settings)."""
        found = self._shapes.get(job)
        if found is None:
            limit = self.rate_limit(job.name, job.concurrency)
            rq_job = self.queue.create_job(
                JOB_FUNCTION,
                timeout=job.timeout,
                result_ttl=0,
                failure_ttl=FAILURE_TTL,
                rate_limit=limit,
                description="",
                status=JobStatus.RATE_LIMITED,
            )
            limits = self.registry(limit.key)
            keys = (
                limits.allowed_key,
                limits.rate_limited_key,
                limits.config_key,
                RateLimitRegistry.rl_keys_key,
                self._keys.fair_share(job.name),
            )
            found = self._shapes[job] = _JobShape(rq_job.to_dict(), limit, keys)
        return found

    def enqueue(self, entry_id: str, job: JobSettings, tenant: str = "") -> None:
        """The job enqueued now, in one round trip (a pipeline holding RQ's own script would cost a SCRIPT EXISTS
        first)."""
        draft = self.draft(entry_id, job, tenant)
        self._enqueue(keys=list(draft.keys), args=list(draft.args))

    def enqueue_again(self, entry_id: str, job: JobSettings, tenant: str = "") -> None:
        """A lost job's dead execution leaves RQ's started registry first: once its deadline passed, RQ's
        cleanup would mark the new run (same job id) failed and free its upstream slot while it still fetches."""
        job_id = job_id_for(entry_id)
        started = StartedJobRegistry(queue=self.queue).key
        dead = [member for member, _ in self._connection.zscan_iter(started, match=f"{job_id}:*")]
        if dead:
            self._connection.zrem(started, *dead)
        self.enqueue(entry_id, job, tenant)

    def waiting(self, entry_ids: list[str]) -> set[str]:
        """Those of the entries whose job is queued or running (started under a live lease), in one round trip.

        A queued job is taken at its word (its status), not looked for in the queue's list: that is O(queue
        length) per entry, and a backlog is exactly when many entries are due for this check.
        """
        if not entry_ids:
            return set()
        flags = self._waiting(args=[Job.redis_job_namespace_prefix, self._lease_prefix, *map(job_id_for, entry_ids)])
        return {entry_id for entry_id, live in zip(entry_ids, flags) if live}

    def ahead_of(self, entry_id: str, job: JobSettings) -> int | None:
        """How many of the kind's jobs wait for a slot before the entry's (its rank in the cap's rate_limited set,
        by when each was enqueued); None when it waits for none: it has a slot, or it is gone."""
        waiting = self.registry(self.rate_limit(job.name, job.concurrency).key).rate_limited_key
        rank = self._connection.zrank(waiting, job_id_for(entry_id))
        return int(cast(int, rank)) if rank is not None else None

    def clean(self) -> None:
        """What RQ's own workers do from time to time: mark jobs whose worker died as failed (freeing their upstream
        slot), forget failed jobs past their time and workers that died without saying so."""
        StartedJobRegistry(queue=self.queue).cleanup()
        FailedJobRegistry(queue=self.queue).cleanup()
        ours = self._keys.rq_upstream_limit("")
        for registry in RateLimitRegistry.all(self._connection):
            if registry.key == ours or registry.key.startswith(ours + ":"):
                registry.cleanup()
        clean_worker_registry(self.queue)

    def depth(self) -> int:
        return self.queue.count

    def workers(self) -> int:
        return Worker.count(queue=self.queue)

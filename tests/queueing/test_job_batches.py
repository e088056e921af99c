"""RqJobBatches on a real Redis: our worker's batch bookkeeping leaves RQ's keys as RQ's own worker would."""

from __future__ import annotations

import datetime
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis import Redis
from rq.job import Job, JobStatus
from rq.rate_limit import RateLimitRegistry
from rq.registry import FailedJobRegistry, StartedJobRegistry
from rq.utils import utcformat

from imagecache.domain.job_settings import JobSettings
from imagecache.domain.request_context import request_id
from imagecache.queueing.job_batches import ABANDON_GRACE, FinishedJob, RqJobBatches
from imagecache.queueing.rq_queue import RqJobQueue, job_id_for
from imagecache.redis_access import scripts
from imagecache.redis_access.keys import RedisKeys
from testkit.job_kinds import CHART, ONE_SLOT


@pytest.fixture
def one_slot(redis_url: str, prefix: str) -> Iterator[RqJobQueue]:
    """A queue whose upstream cap lets one job in at a time."""
    queue = RqJobQueue(Redis.from_url(redis_url), prefix)
    yield queue
    queue.queue.empty()
    limits = RateLimitRegistry(queue.rate_limit("chart", 1).key, queue.queue.connection)
    queue.queue.connection.delete(limits.allowed_key, limits.rate_limited_key, limits.config_key)


def batches_for(jobs: RqJobQueue, kind: JobSettings = CHART) -> RqJobBatches:
    return RqJobBatches(
        jobs.queue.connection,
        jobs.queue,
        lambda name: jobs.rate_limit(name, kind.concurrency),
        jobs.registry,
        "lease-1",
    )


def entry() -> str:
    return uuid.uuid4().hex * 2 + "_1800000000.5"


def status(jobs: RqJobQueue, entry_id: str) -> JobStatus | None:
    return Job.fetch(job_id_for(entry_id), connection=jobs.queue.connection).get_status()


def test_taken_jobs_are_started_in_rqs_registry_with_their_entry_and_request(jobs):
    first, second = entry(), entry()
    token = request_id.set("req-7")
    try:
        jobs.enqueue(first, CHART)
    finally:
        request_id.reset(token)
    jobs.enqueue(second, CHART)
    taken, foreign = batches_for(jobs).take(10, "worker-a")
    assert [(job.entry_id, job.request_id, job.timeout) for job in taken] == [(first, "req-7", 60), (second, "-", 60)]
    assert foreign == [] and jobs.depth() == 0
    assert status(jobs, first) == JobStatus.STARTED
    assert Job.fetch(job_id_for(first), connection=jobs.queue.connection).worker_name == "worker-a"
    assert set(StartedJobRegistry(queue=jobs.queue).get_job_ids()) == {job_id_for(first), job_id_for(second)}


def test_take_stops_at_the_free_slots_and_drops_jobs_deleted_meanwhile(jobs):
    kept, deleted, later = entry(), entry(), entry()
    for entry_id in (deleted, kept, later):
        jobs.enqueue(entry_id, CHART)
    Job.fetch(job_id_for(deleted), connection=jobs.queue.connection).delete(remove_from_queue=False)
    taken, _ = batches_for(jobs).take(2, "worker-a")
    assert [job.entry_id for job in taken] == [kept]  # two popped, one of them gone
    assert jobs.queue.job_ids == [job_id_for(later)]


def test_a_job_that_is_not_ours_fails_without_running(jobs):
    jobs.queue.enqueue("os.getcwd", job_id="foreign")
    taken, foreign = batches_for(jobs).take(5, "worker-a")
    assert taken == [] and [job.job_id for job in foreign] == ["foreign"]
    assert "imagecache's jobs only" in foreign[0].failure


def test_a_finished_job_is_gone_and_frees_its_slot_for_the_next(one_slot):
    first, second = entry(), entry()
    one_slot.enqueue(first, ONE_SLOT)
    one_slot.enqueue(second, ONE_SLOT)
    assert one_slot.queue.job_ids == [job_id_for(first)] and status(one_slot, second) == JobStatus.RATE_LIMITED
    batches = batches_for(one_slot, ONE_SLOT)
    (job,), _ = batches.take(5, "worker-a")
    assert batches.take(5, "worker-a") == ([], [])  # the second waits for the slot
    assert batches.finish([FinishedJob(job.job_id, job.started, "chart")]) == 1
    assert not one_slot.queue.connection.exists(Job.key_for(job.job_id))
    assert StartedJobRegistry(queue=one_slot.queue).get_job_ids() == []
    assert one_slot.queue.job_ids == [job_id_for(second)] and status(one_slot, second) == JobStatus.QUEUED


def test_a_failed_job_is_kept_in_rqs_failed_registry_and_frees_its_slot(one_slot):
    first, second = entry(), entry()
    one_slot.enqueue(first, ONE_SLOT)
    one_slot.enqueue(second, ONE_SLOT)
    batches = batches_for(one_slot, ONE_SLOT)
    (job,), _ = batches.take(1, "worker-a")
    time.sleep(0.05)
    batches.finish([FinishedJob(job.job_id, job.started, "chart", "JobTimedOut: ran past its timeout of 60 s")])
    connection = one_slot.queue.connection
    assert status(one_slot, first) == JobStatus.FAILED
    assert b"JobTimedOut" in connection.hget(Job.key_for(job.job_id), "exc_info")
    failed = Job.fetch(job.job_id, connection=connection)  # ended on the clock it started on: Redis's
    assert (failed.ended_at - failed.started_at).total_seconds() >= 0.04
    assert abs(failed.ended_at.timestamp() - time.time()) < 1
    assert FailedJobRegistry(queue=one_slot.queue).get_job_ids() == [job.job_id]
    assert one_slot.queue.job_ids == [job_id_for(second)]


def test_rqs_own_cleanup_frees_the_slot_of_a_job_whose_worker_died(one_slot):
    first, second = entry(), entry()
    one_slot.enqueue(first, ONE_SLOT)
    one_slot.enqueue(second, ONE_SLOT)
    batches_for(one_slot, ONE_SLOT).take(1, "worker-a")  # and the worker dies: nothing finishes it
    StartedJobRegistry(queue=one_slot.queue).cleanup(time.time() + 60 + ABANDON_GRACE + 1)
    RateLimitRegistry(one_slot.rate_limit("chart", 1).key, one_slot.queue.connection).cleanup()
    assert status(one_slot, first) == JobStatus.FAILED
    assert one_slot.queue.job_ids == [job_id_for(second)]


def test_a_take_that_waits_for_work_returns_empty_after_the_wait_and_at_once_when_a_job_comes(jobs):
    batches = batches_for(jobs)
    started = time.monotonic()
    assert batches.take(5, "worker-a", wait=1) == ([], []) and time.monotonic() - started >= 0.9
    line = [entry() for _ in range(3)]
    coming = threading.Timer(0.3, lambda: [jobs.enqueue(queued, CHART) for queued in line])
    coming.start()
    started = time.monotonic()
    taken, _ = batches.take(2, "worker-a", wait=5)
    assert time.monotonic() - started < 2
    coming.join()
    assert [job.entry_id for job in taken] == line[: len(taken)] and 1 <= len(taken) <= 2  # in the line's order
    assert jobs.queue.job_ids == [job_id_for(queued) for queued in line[len(taken) :]]


def test_jobs_are_stamped_started_when_redis_takes_them_not_when_the_wait_began(jobs):
    batches = batches_for(jobs)
    coming = threading.Timer(1.5, jobs.enqueue, (entry(), CHART))
    coming.start()
    (job,), _ = batches.take(1, "worker-a", wait=5)
    coming.join()
    stamped = Job.fetch(job.job_id, connection=jobs.queue.connection)
    assert stamped.started_at is not None and abs(stamped.started_at.timestamp() - time.time()) < 1
    assert utcformat(stamped.started_at) == job.started  # what finishing it checks


def test_a_take_after_redis_lost_its_scripts_loads_them_again(jobs):
    """As after a restart: Redis no longer knows the script by its digest (a flush would reach every test's
    database, so the script's digest is made one Redis never saw)."""
    batches = batches_for(jobs)
    jobs.enqueue(first := entry(), CHART)
    batches._take.sha = "0" * 40
    (job,), _ = batches.take(1, "worker-a", wait=1)
    assert job.entry_id == first
    batches._take.sha = "0" * 40
    jobs.enqueue(second := entry(), CHART)
    (job,), _ = batches.take(1, "worker-a")
    assert job.entry_id == second


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moment=st.integers(0, 253402300799), micros=st.integers(0, 999_999))
def test_the_take_writes_started_stamps_as_rq_does(redis, moment, micros):
    """For any moment from 1970 to the year 9999: the date RQ's own utcformat writes."""
    written = redis.eval(
        scripts.source("rq_stamp", "imagecache.queueing") + "return rq_stamp(tonumber(ARGV[1]), tonumber(ARGV[2]))",
        0,
        moment,
        micros,
    )
    expected = datetime.datetime.fromtimestamp(moment, datetime.UTC).replace(microsecond=micros)
    assert written == utcformat(expected)


def test_a_lost_job_enqueued_again_takes_its_own_slot_back(one_slot):
    lost = entry()
    one_slot.enqueue(lost, ONE_SLOT)
    batches_for(one_slot, ONE_SLOT).take(1, "worker-a")  # its worker dies: the slot stays with the job id
    one_slot.enqueue_again(lost, ONE_SLOT)
    assert one_slot.queue.job_ids == [job_id_for(lost)] and status(one_slot, lost) == JobStatus.QUEUED
    assert StartedJobRegistry(queue=one_slot.queue).get_job_ids() == []


def test_a_started_job_runs_only_while_its_workers_lease_lives(jobs, prefix):
    entry_id = entry()
    jobs.enqueue(entry_id, CHART)
    batches_for(jobs).take(1, "worker-a")  # started under lease-1, its entry not yet claimed
    connection = jobs.queue.connection
    lease_key = RedisKeys(prefix).lease_prefix + "lease-1"
    connection.set(lease_key, "1")
    assert jobs.waiting([entry_id]) == {entry_id}
    connection.delete(lease_key)  # the worker died between taking the job and claiming its entry
    assert jobs.waiting([entry_id]) == set()


def test_a_late_finish_leaves_the_run_recovery_enqueued_again_alone(one_slot):
    first, later = entry(), entry()
    one_slot.enqueue(first, ONE_SLOT)
    batches = batches_for(one_slot, ONE_SLOT)
    (old,), _ = batches.take(1, "worker-a")  # ends without settling its entry; recovery hands it out again
    one_slot.enqueue_again(first, ONE_SLOT)
    (new,), _ = batches.take(1, "worker-a")
    batches.finish([FinishedJob(old.job_id, old.started, "chart", "JobTimedOut: ran past its timeout of 60 s")])
    assert status(one_slot, first) == JobStatus.STARTED  # the new run goes on
    assert StartedJobRegistry(queue=one_slot.queue).get_job_ids() == [new.job_id]
    one_slot.enqueue(later, ONE_SLOT)
    assert status(one_slot, later) == JobStatus.RATE_LIMITED  # the new run still holds the one slot
    batches.finish([FinishedJob(new.job_id, new.started, "chart")])
    assert one_slot.queue.job_ids == [job_id_for(later)]


def test_a_job_whose_data_cannot_be_read_fails_alone(jobs):
    readable, broken = entry(), entry()
    jobs.enqueue(readable, CHART)
    jobs.enqueue(broken, CHART)
    jobs.queue.connection.hset(Job.key_for(job_id_for(broken)), "data", b"not a pickled call")
    taken, refused = batches_for(jobs).take(5, "worker-a")
    assert [job.entry_id for job in taken] == [readable]
    assert [job.job_id for job in refused] == [job_id_for(broken)] and refused[0].failure


@given(backlogs=st.lists(st.integers(1, 12), min_size=1, max_size=4))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_tenants_take_turns_in_line_whatever_their_backlogs(one_slot, prefix, backlogs):
    """Each tenant posts its backlog after the one before (the first job takes the one slot): the line has each
    tenant's n-th job among every tenant's n-th, so a late tenant's handful waits one turn per job, not a backlog."""
    tenant_of: dict[str, str] = {}
    for tenant, count in enumerate(backlogs):
        for _ in range(count):
            entry_id = entry()
            tenant_of[job_id_for(entry_id)] = str(tenant)
            one_slot.enqueue(entry_id, ONE_SLOT, str(tenant))
    line = RateLimitRegistry(one_slot.rate_limit("chart", 1).key, one_slot.queue.connection).rate_limited_key
    waiting = [
        (tenant_of[job.decode()], score)
        for job, score in one_slot.queue.connection.zrange(line, 0, -1, withscores=True)
    ]
    turns: dict[float, list[str]] = {}
    for tenant, score in waiting:
        turns.setdefault(score, []).append(tenant)
    assert all(len(set(tenants)) == len(tenants) for tenants in turns.values())  # one job per tenant per turn
    for tenant, count in enumerate(backlogs[1:], start=1):  # a later tenant's last job: within its count of turns
        last = max(position for position, (owner, _) in enumerate(waiting) if owner == str(tenant))
        assert last < count * len(backlogs)
    one_slot.queue.connection.delete(line, RedisKeys(prefix).fair_share("chart"))
    one_slot.queue.empty()


def test_a_tenant_new_to_the_line_takes_the_next_round_of_slots(jobs, prefix):
    """A's runs in flight were its round: B's handful goes before A's backlog (a cap of CHART.concurrency)."""
    tenant_of: dict[str, str] = {}
    for tenant, count in (("a", CHART.concurrency + 10), ("b", CHART.concurrency)):
        for _ in range(count):
            entry_id = entry()
            tenant_of[job_id_for(entry_id)] = tenant
            jobs.enqueue(entry_id, CHART, tenant)
    limits = RateLimitRegistry(jobs.rate_limit("chart", CHART.concurrency).key, jobs.queue.connection)
    line = limits.rate_limited_key
    waiting = [tenant_of[job.decode()] for job in jobs.queue.connection.zrange(line, 0, -1)]
    assert (
        waiting[: CHART.concurrency - 1] == ["b"] * (CHART.concurrency - 1) and waiting.count("b") == CHART.concurrency
    )
    assert waiting.index("b", CHART.concurrency - 1) <= CHART.concurrency  # the last ties with A's head at most
    jobs.queue.connection.delete(line, limits.allowed_key, limits.config_key, RedisKeys(prefix).fair_share("chart"))


def test_newcomers_share_the_next_round_in_turn_none_jumping_an_earlier_one(jobs, prefix):
    """A has a backlog; B, C, D, E and F arrive one after another with a handful each: each newcomer's first job is
    in the first round, and no later newcomer's whole handful goes before an earlier one's."""
    limits = RateLimitRegistry(jobs.rate_limit("chart", CHART.concurrency).key, jobs.queue.connection)
    tenant_of: dict[str, str] = {}
    for tenant, count in (("a", CHART.concurrency + 20), *((t, 4) for t in "bcdef")):
        for _ in range(count):
            entry_id = entry()
            tenant_of[job_id_for(entry_id)] = tenant
            jobs.enqueue(entry_id, CHART, tenant)
    waiting = [tenant_of[job.decode()] for job in jobs.queue.connection.zrange(limits.rate_limited_key, 0, -1)]
    assert set(waiting[:5]) == set("bcdef")  # each newcomer's first job in the first turn
    assert waiting.index("a") >= 5  # A's backlog after the newcomers' first turn
    last = {tenant: max(i for i, owner in enumerate(waiting) if owner == tenant) for tenant in "bcdef"}
    assert max(last.values()) - min(last.values()) <= 4  # none served a whole round before another
    keys = (limits.rate_limited_key, limits.allowed_key, limits.config_key, RedisKeys(prefix).fair_share("chart"))
    jobs.queue.connection.delete(*keys)

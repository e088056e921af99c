"""RqJobQueue on a real Redis: entries become RQ jobs in RQ's own queue, named by the entry."""

from __future__ import annotations

from types import SimpleNamespace

from rq.job import Job, JobStatus
from rq.utils import import_attribute

import workers.jobs
from imagecache.domain.request_context import request_id
from imagecache.queueing.rq_queue import FAILURE_TTL, JOB_FUNCTION, job_id_for
from testkit.job_kinds import CHART


def test_an_entry_is_one_rq_job_that_names_its_function_by_path(jobs):
    jobs.enqueue("a" * 64 + "_1800000000.5", CHART)
    assert jobs.queue.job_ids == [job_id_for("a" * 64 + "_1800000000.5")]
    job = Job.fetch(jobs.queue.job_ids[0], connection=jobs.queue.connection)
    assert job.func_name == JOB_FUNCTION == "workers.jobs.produce_entry"
    assert callable(import_attribute(JOB_FUNCTION))  # jobs queued before an upgrade still find their function


def test_the_job_function_takes_the_arguments_the_queue_gives_it(jobs, monkeypatch):
    """What a plain `rq worker` on our queue calls: job.func(*job.args), the producer underneath."""
    produced = []
    monkeypatch.setattr(workers.jobs, "_components", SimpleNamespace(producer=SimpleNamespace(produce=produced.append)))
    entry_id = "d" * 64 + "_1800000000"
    jobs.enqueue(entry_id, CHART)
    job = Job.fetch(jobs.queue.job_ids[0], connection=jobs.queue.connection)
    job.func(*job.args, **job.kwargs)
    assert produced == [entry_id]


def test_waiting_tells_queued_entries_from_others(jobs):
    queued, other = "b" * 64 + "_1800000000", "c" * 64 + "_1800000000"
    jobs.enqueue(queued, CHART)
    assert jobs.waiting([queued, other]) == {queued}
    assert jobs.depth() == 1


def test_a_draft_is_the_job_rq_itself_would_save(jobs):
    """Drafts are made from a kind's fields once (every POST makes one): each must still be RQ's own job."""
    entry_id = "e" * 64 + "_1800000000.5"
    token = request_id.set("request-1")
    try:
        drafts = [jobs.draft(entry_id, CHART, "alice") for _ in range(2)]  # the second from the kind's fields
    finally:
        request_id.reset(token)
    rq_job = jobs.queue.create_job(
        JOB_FUNCTION,
        args=(entry_id, "request-1", CHART.name),
        job_id=job_id_for(entry_id),
        timeout=CHART.timeout,
        result_ttl=0,
        failure_ttl=FAILURE_TTL,
        rate_limit=jobs.rate_limit(CHART.name, CHART.concurrency),
        description=f"produce {entry_id} ({CHART.name})",
        status=JobStatus.RATE_LIMITED,
    )
    expected = {name: value for name, value in rq_job.to_dict().items() if name != "created_at"}
    for draft in drafts:
        assert draft.keys[0] == rq_job.key and draft.args[0] == rq_job.id
        fields = dict(zip(draft.args[8::2], draft.args[9::2]))
        assert {name: value for name, value in fields.items() if name != "created_at"} == expected
        assert list(fields) == list(rq_job.to_dict())

"""RqJobQueue on a real Redis: entries become RQ jobs in RQ's own queue, named by the entry."""

from __future__ import annotations

from types import SimpleNamespace

from rq.job import Job
from rq.utils import import_attribute

import workers.jobs
from imagecache.queueing.rq_queue import JOB_FUNCTION, job_id_for
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

"""RqJobQueue on a real Redis: entries become RQ jobs in RQ's own queue, named by the entry."""

from __future__ import annotations

from rq.job import Job
from rq.utils import import_attribute

from imagecache.queueing.rq_queue import JOB_FUNCTION, job_id_for
from testkit.job_kinds import CHART


def test_an_entry_is_one_rq_job_that_names_its_function_by_path(jobs):
    jobs.enqueue("a" * 64 + "_1800000000.5", CHART)
    assert jobs.queue.job_ids == [job_id_for("a" * 64 + "_1800000000.5")]
    job = Job.fetch(jobs.queue.job_ids[0], connection=jobs.queue.connection)
    assert job.func_name == JOB_FUNCTION == "workers.jobs.produce_entry"
    assert callable(import_attribute(JOB_FUNCTION))  # jobs queued before an upgrade still find their function


def test_waiting_tells_queued_entries_from_others(jobs):
    queued, other = "b" * 64 + "_1800000000", "c" * 64 + "_1800000000"
    jobs.enqueue(queued, CHART)
    assert jobs.waiting([queued, other]) == {queued}
    assert jobs.depth() == 1

"""RetryingJob: a job kind's run as the producer sees it, whatever the job does."""

from __future__ import annotations

import time

import pytest

from imagecache.domain.errors import FetchError
from imagecache.jobs import JobError, JobKind, JobResult
from imagecache.jobs._runner import RetryingJob


def runner(run, retries=2, timeout=5):
    return RetryingJob("test", JobKind(run=run, retries=retries, timeout=timeout), backoff_initial=0.01)


def scripted(*answers):
    """A run giving each answer in turn (raising it when it is an exception); the queries it got."""
    queries = []

    def run(query):
        queries.append(query)
        answer = answers[len(queries) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return run, queries


def test_transient_errors_are_tried_again_up_to_the_kinds_retries():
    run, queries = scripted(JobError(503, "busy"), JobError(503, "busy"), JobResult("text/plain", b"ok"))
    result = runner(run).fetch({"q": 1})
    assert (result.data, result.attempts, queries) == (b"ok", 3, [{"q": 1}] * 3)


def test_the_last_transient_error_ends_the_run_with_its_status_and_attempts():
    run, queries = scripted(*[JobError(502, "down")] * 3)
    with pytest.raises(FetchError) as raised:
        runner(run).fetch({})
    assert (raised.value.status, raised.value.message, raised.value.attempts, len(queries)) == (502, "down", 3, 3)


def test_a_definitive_error_is_not_tried_again():
    run, queries = scripted(JobError(400, "bad query", definitive=True))
    with pytest.raises(FetchError) as raised:
        runner(run).fetch({})
    assert raised.value.definitive and len(queries) == 1


def test_retry_after_is_waited_for():
    run, _ = scripted(JobError(429, "slow down", retry_after=0.5), JobResult("text/plain", b"ok"))
    started = time.monotonic()
    runner(run).fetch({})
    assert time.monotonic() - started >= 0.45


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (ZeroDivisionError("division by zero"), "job test failed: ZeroDivisionError: division by zero"),
        (b"raw bytes", "job test returned bytes, not a JobResult"),
        (JobResult("image/png", path="/nonexistent/result.png"), "job test returned a path that is not a file"),
    ],
)
def test_a_job_that_misbehaves_ends_at_once_as_a_500_naming_what_it_did(answer, says):
    run, queries = scripted(answer, answer, answer)
    with pytest.raises(FetchError) as raised:
        runner(run).fetch({})
    assert (raised.value.status, raised.value.message, raised.value.definitive) == (500, says, False)
    assert len(queries) == 1  # a bug is not retried within the run (the entry is, after ERROR_TTL)


def test_a_result_file_is_handed_over_by_path(tmp_path):
    written = tmp_path / "result.bin"
    written.write_bytes(b"x" * 10)
    result = runner(lambda query: JobResult("application/octet-stream", path=written)).fetch({})
    assert (result.path, result.data) == (str(written), b"")


def test_an_error_that_would_come_again_at_once_is_not_retried_within_the_run():
    run, queries = scripted(JobError(502, "malformed answer", retry_at_once=False), JobResult("text/plain", b"ok"))
    with pytest.raises(FetchError) as raised:
        runner(run).fetch({})
    assert (raised.value.status, raised.value.definitive, len(queries)) == (502, False, 1)

"""JobKinds over a real Redis directory: a named kind is accepted only while every live worker runs it."""

from __future__ import annotations

import dataclasses
import time

import pytest

from imagecache.domain.errors import FetchError, UnknownJob
from imagecache.index.job_directory import RedisJobDirectory
from imagecache.services.job_kinds import JobKinds
from testkit.job_kinds import CHART

WORDS = dataclasses.replace(CHART, name="words", concurrency=2, default_ttl=9000)


def refuse_empty(query):
    if not query:
        raise FetchError(400, "empty query", definitive=True)


@pytest.fixture
def directory(redis, prefix):
    return RedisJobDirectory(redis, prefix)


def kinds(directory, **local):
    return JobKinds(directory, "chart", {"chart": CHART, **local}, {"words": refuse_empty})


def test_a_named_kind_is_refused_until_a_worker_runs_it_and_then_gets_the_workers_settings(directory):
    web = kinds(directory)
    with pytest.raises(UnknownJob) as refused:
        web.resolve("words")
    assert refused.value.served == ["chart"] and "served: chart" in str(refused.value)
    directory.advertise("worker-1", {"chart": CHART, "words": WORDS}, time.time(), 20)
    assert web.resolve("words") == WORDS  # read again at once for a name it did not know


def test_the_default_is_accepted_with_no_worker_alive_so_requests_queue_through_a_restart(directory):
    assert kinds(directory).resolve(None) == CHART == kinds(directory).resolve("chart")


def test_a_kind_only_some_live_workers_run_is_not_served(directory):
    now = time.time()
    directory.advertise("worker-1", {"chart": CHART, "words": WORDS}, now, 20)
    directory.advertise("worker-2", {"chart": CHART}, now, 20)
    with pytest.raises(UnknownJob):
        kinds(directory).resolve("words")
    directory.withdraw("worker-2")
    assert kinds(directory).resolve("words") == WORDS


def test_a_dead_workers_advert_lapses_and_is_pruned_by_the_next_writer(directory, redis, prefix):
    now = time.time()
    directory.advertise("dead", {"chart": CHART}, now - 100, 20)
    assert directory.served(now) == {}
    directory.advertise("alive", {"chart": CHART, "words": WORDS}, now, 20)
    assert set(redis.hkeys(prefix + "jobs")) == {"alive"}
    assert set(directory.served(now)) == {"chart", "words"}


def test_a_kinds_own_check_of_the_query_runs_where_it_is_installed(directory):
    with pytest.raises(FetchError):
        kinds(directory).validate("words", {})
    kinds(directory).validate("words", {"text": "a"})
    kinds(directory).validate("elsewhere", {})  # not installed on this host: the worker's run checks it

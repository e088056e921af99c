"""Errors that back off, through a live stack: a query whose fetch keeps failing is tried again after ERROR_TTL,
then twice that, up to ERROR_TTL_MAX, however hard it is asked for; its last good result answers meanwhile where
stale_if_error allows; a success starts the count over."""

from __future__ import annotations

import time

import httpx
import pytest

from imagecache.web import cache_status
from testkit.processes import wait_until
from testkit.upstream import make_query, simulate, upstream_stats

FIRST, MOST = 1, 4


@pytest.fixture(scope="module")
def stack(stack_factory):
    return stack_factory(ERROR_TTL=str(FIRST), ERROR_TTL_MAX=str(MOST), KENTIK_API_RETRIES="0")


def post(stack, query, **fields) -> httpx.Response:
    response = httpx.post(stack.url + "/requests", json={"api_query": query, **fields}, timeout=10)
    assert response.status_code == 200, response.text
    return response


def settled(stack, entry_id: str) -> httpx.Response:
    return httpx.get(f"{stack.url}/image/{entry_id}", timeout=30)


def error_life(redis, stack, entry_id: str) -> float:
    return error_until(redis, stack, entry_id) - float(
        redis.hget(stack.env["REDIS_PREFIX"] + "entry:" + entry_id, "completed_at")
    )


def error_until(redis, stack, entry_id: str) -> float:
    return float(redis.hget(stack.env["REDIS_PREFIX"] + "entry:" + entry_id, "error_until"))


def fail_once_more(redis, stack, query) -> tuple[str, float]:
    """Wait until the query's error has lapsed, then ask until a new attempt fails: its id and its error's life."""
    entry_id = post(stack, query).json()["id"]
    while settled(stack, entry_id).status_code == 503 and post(stack, query).json()["id"] == entry_id:
        time.sleep(0.1)
    entry_id = post(stack, query).json()["id"]
    assert settled(stack, entry_id).status_code == 503
    return entry_id, error_life(redis, stack, entry_id)


def test_a_failing_query_is_tried_again_ever_later_and_a_success_starts_over(stack, simulator, redis):
    simulate(simulator)
    query = make_query()
    good = post(stack, query).json()["id"]
    assert settled(stack, good).status_code == 200

    simulate(simulator, fail_first=10**6, fail_status=503)
    first = post(stack, query, refresh=True).json()["id"]
    assert settled(stack, first).status_code == 503
    lives = [error_life(redis, stack, first)]
    failed = [fail_once_more(redis, stack, query) for _ in range(3)]
    lives += [life for _, life in failed]
    assert lives == pytest.approx([1, 2, 4, 4], abs=0.01)  # doubled, up to ERROR_TTL_MAX

    calls, until = upstream_stats(simulator)["calls"], error_until(redis, stack, failed[-1][0])
    stale = post(stack, query, max_age=1, stale_if_error=3600)  # the last good result answers meanwhile
    assert (stale.json()["id"], stale.headers["cache-status"]) == (good, cache_status.STALE)
    hammered = []
    while len(hammered) < 50 and time.time() < until - 1:  # while its error answers: nobody reaches the upstream
        hammered.append(post(stack, query))
    assert len(hammered) >= 10 and upstream_stats(simulator)["calls"] == calls
    assert {r.headers["cache-status"] for r in hammered} == {cache_status.ERROR}

    simulate(simulator)
    wait_until(lambda: settled(stack, post(stack, query).json()["id"]).status_code == 200, 10, "a success")
    simulate(simulator, fail_first=10**6, fail_status=503)
    after_success = post(stack, query, refresh=True).json()["id"]
    assert settled(stack, after_success).status_code == 503
    assert error_life(redis, stack, after_success) == pytest.approx(FIRST, abs=0.01)

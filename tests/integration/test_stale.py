"""Stale-while-revalidate and stale-if-error through a live stack: two web processes, a worker, the simulator."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from testkit.processes import wait_until
from testkit.upstream import make_query, simulate, upstream_stats

STALE = {"max_age": 1, "stale_while_revalidate": 600}
REFRESH_SECONDS = 6  # the upstream's latency while a refresh runs: far above what answering fifty takes


@pytest.fixture(scope="module")
def stack(stack_factory):
    return stack_factory(ERROR_TTL="600", KENTIK_API_TIMEOUT=str(REFRESH_SECONDS + 10))


@pytest.fixture(scope="module")
def second_web(stack):
    return stack.start_web()


def post(url, query, **fields):
    response = httpx.post(url + "/requests", json={"api_query": query, **fields}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def produced(stack, query) -> str:
    entry_id = stack.request(query)["id"]
    assert httpx.get(f"{stack.url}/image/{entry_id}", timeout=30).status_code == 200
    time.sleep(1.1)  # older than STALE's max_age
    return entry_id


def test_fifty_stale_requests_over_two_web_processes_are_answered_at_once_and_refresh_once(
    stack, second_web, simulator
):
    simulate(simulator)
    query = make_query()
    old = produced(stack, query)
    before = stack.info()
    simulate(simulator, latency_ms=REFRESH_SECONDS * 1000)  # the refresh runs while the fifty are answered
    urls = [stack.url, second_web] * 25
    with ThreadPoolExecutor(25) as pool:
        started = time.monotonic()
        answers = list(pool.map(lambda url: post(url, query, **STALE), urls))
        answered_in = time.monotonic() - started
    assert {(a["id"], a["status"]) for a in answers} == {(old, "stale")}
    assert answered_in < REFRESH_SECONDS  # an answer that waited for the refresh could not come before it lands
    wait_until(lambda: post(stack.url, query, **STALE)["id"] != old, REFRESH_SECONDS + 10, "the refresh to land")
    fresh = post(second_web, query, **STALE)
    assert fresh["status"] == "active" and fresh["id"] != old
    assert upstream_stats(simulator)["calls"] == 1  # one refresh for fifty stale requests
    assert httpx.get(f"{stack.url}/image/{old}", timeout=10).status_code == 200  # the old id serves until expiry
    after = stack.info()
    assert after["refreshes"] - before["refreshes"] == 1 and after["stale_hits"] - before["stale_hits"] >= 50
    metrics = httpx.get(stack.url + "/metrics", timeout=10).text
    assert "imagecache_stale_hits_total" in metrics and "imagecache_refreshes_total" in metrics


def test_a_failed_refresh_answers_the_last_good_result_where_stale_if_error_allows(stack, simulator):
    simulate(simulator)
    query = make_query()
    old = produced(stack, query)
    simulate(simulator, fail_first=100, fail_status=500)
    first = post(stack.url, query, **STALE)  # answered stale; its refresh meets the failing upstream
    assert (first["id"], first["status"]) == (old, "stale")
    error = wait_until_error(stack, query)
    assert post(stack.url, query, max_age=1, stale_if_error=600)["id"] == old  # instead of the error
    assert post(stack.url, query, max_age=1, stale_if_error=600)["status"] == "stale"
    summary = httpx.get(f"{stack.url}/requests/{error}", timeout=10).json()
    assert summary["status"] == "error" and summary["error"]["status"] == 500  # visible on its own id


def wait_until_error(stack, query) -> str:
    """The refresh's error entry, once it has failed (a request allowing no staleness gets it)."""
    found: list[str] = []

    def failed() -> bool:
        answer = post(stack.url, query, max_age=1)
        if answer["status"] == "error":
            found.append(answer["id"])
        return bool(found)

    wait_until(failed, 20, "the refresh to fail")
    return found[0]

"""Cache-Status (RFC 9211) through a live stack: each way a request can be answered says which it was."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from imagecache.web import cache_status
from testkit.upstream import make_query, simulate


@pytest.fixture(scope="module")
def stack(stack_factory):
    return stack_factory(ERROR_TTL="600", ENTRY_WAIT_TIMEOUT="1")


def post(stack, query, **fields) -> httpx.Response:
    response = httpx.post(stack.url + "/requests", json={"api_query": query, **fields}, timeout=10)
    assert response.status_code == 200, response.text
    return response


def image(stack, entry_id: str, method: str = "GET") -> httpx.Response:
    return httpx.request(method, f"{stack.url}/image/{entry_id}", timeout=30)


def test_a_miss_those_that_join_it_and_the_hits_after_each_say_so(stack_factory, simulator):
    stack = stack_factory()  # waits as long as a deployment's, so a slow upstream makes the joins sure to be joins
    simulate(simulator, latency_ms=2000)
    query = make_query()
    first = post(stack, query)
    assert first.headers["cache-status"] == cache_status.MISS
    entry_id = first.json()["id"]
    with ThreadPoolExecutor(4) as pool:
        joined = list(pool.map(lambda _: post(stack, query), range(4)))
        waited = list(pool.map(lambda _: image(stack, entry_id), range(4)))
    assert {response.headers["cache-status"] for response in joined} == {cache_status.COALESCED}
    assert {(r.status_code, r.headers["cache-status"]) for r in waited} == {(200, cache_status.COALESCED)}
    assert post(stack, query).headers["cache-status"] == cache_status.HIT
    for method in ("GET", "HEAD"):
        assert image(stack, entry_id, method).headers["cache-status"] == cache_status.HIT
    etag = image(stack, entry_id).headers["etag"]
    revalidated = httpx.get(f"{stack.url}/image/{entry_id}", headers={"If-None-Match": etag})
    assert (revalidated.status_code, revalidated.headers["cache-status"]) == (304, cache_status.HIT)


def test_a_refresh_a_stale_answer_a_stored_failure_and_a_wait_run_out_say_so(stack, simulator):
    simulate(simulator)
    query = make_query()
    assert image(stack, post(stack, query).json()["id"]).status_code == 200
    time.sleep(1.1)
    stale = post(stack, query, max_age=1, stale_while_revalidate=600)
    assert stale.headers["cache-status"] == cache_status.STALE
    assert post(stack, make_query(), refresh=True).headers["cache-status"] == cache_status.REFRESHED

    simulate(simulator, fail_first=10, fail_status=404)  # a definitive failure: stored as an error entry
    failing = make_query()
    failed = image(stack, post(stack, failing).json()["id"])
    assert (failed.status_code, failed.headers["cache-status"]) == (404, cache_status.ERROR)
    assert post(stack, failing).headers["cache-status"] == cache_status.ERROR

    simulate(simulator, latency_ms=3000)
    pending = image(stack, post(stack, make_query()).json()["id"])
    assert (pending.status_code, pending.headers["cache-status"]) == (504, cache_status.PENDING)


def test_the_openapi_document_describes_every_value(stack):
    document = httpx.get(stack.url + "/openapi.json").json()
    described = document["paths"]["/requests"]["post"]["responses"]["200"]["headers"]["Cache-Status"]["description"]
    assert all(f"`{value}`" in described for value in cache_status.ANSWERS)

"""Honest about time, through a live stack with a slow upstream and a cap of two: a pending entry says where it
stands in its kind's line and when it should be done, and Retry-After says when to ask again."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from testkit.upstream import make_query, simulate

CAP, RUN_SECONDS = 2, 1.0


@pytest.fixture(scope="module")
def stack(stack_factory):
    return stack_factory(UPSTREAM_MAX_CONCURRENCY=str(CAP), WORKER_CONCURRENCY="8", ENTRY_WAIT_TIMEOUT="1")


def produced(stack, entry_id: str) -> bool:
    """Asked again, as Retry-After says, until served (ENTRY_WAIT_TIMEOUT is a second here)."""
    deadline = time.monotonic() + 60
    while (answer := httpx.get(f"{stack.url}/image/{entry_id}", timeout=30)).status_code == 504:
        assert time.monotonic() < deadline
        time.sleep(min(float(answer.headers["retry-after"]), 1.0))
    return answer.status_code == 200


def status(stack, entry_id: str, **params: float) -> httpx.Response:
    return httpx.get(f"{stack.url}/requests/{entry_id}", params=params, timeout=30)


def test_a_line_of_pending_entries_says_where_each_stands_and_when_it_should_be_done(stack, simulator):
    simulate(simulator, latency_ms=RUN_SECONDS * 1000)
    timed = stack.request(make_query())["id"]
    assert produced(stack, timed)  # one run of the kind, timed
    first = status(stack, timed).json()
    assert (
        "queue_position" not in first
        and "eta_seconds" not in first
        and "retry-after" not in status(stack, timed).headers
    )

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda _: stack.request(make_query())["id"], range(8)))
    views = [status(stack, entry_id) for entry_id in ids]
    pending = [(v.json()["queue_position"], v.json()["eta_seconds"], int(v.headers["retry-after"])) for v in views]
    positions = sorted(position for position, _, _ in pending)
    assert positions[:CAP] == [0] * CAP and positions[-1] >= 8 - CAP - 1  # two have the slots; the rest wait in line
    by_position = sorted(pending)
    assert all(a[1] <= b[1] for a, b in zip(by_position, by_position[1:]))  # further back is never sooner
    assert by_position[-1][1] >= 2 * RUN_SECONDS  # at least two rounds of the cap ahead of the last
    assert all(1 <= retry <= max(1, round(eta + 0.5)) for _, eta, retry in pending)

    last = by_position[-1]
    last_id = ids[[p for p, _, _ in pending].index(last[0])]
    timed_out = httpx.get(f"{stack.url}/image/{last_id}", timeout=30)  # ENTRY_WAIT_TIMEOUT=1: still pending
    assert timed_out.status_code == 504 and 1 <= int(timed_out.headers["retry-after"]) <= 60
    polled = status(stack, last_id, wait=0.5)
    assert polled.json()["status"] == "pending" and "retry-after" in polled.headers
    streamed = httpx.get(f"{stack.url}/events", params={"id": last_id, "wait": 0.5}, timeout=30).text
    event = json.loads(streamed.split("event: entry\ndata: ")[1].split("\n")[0])
    assert event["status"] == "pending" and event["queue_position"] >= 0 and event["eta_seconds"] > 0
    assert all(produced(stack, entry_id) for entry_id in ids)

"""Results pushed to whoever waits, through a live stack: a long poll on /requests/<id>, and event streams."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from redis import Redis

from testkit.upstream import make_query, simulate


@pytest.fixture(scope="module")
def stack(stack_factory):
    return stack_factory(ENTRY_WAIT_TIMEOUT="20")


def read_events(response: httpx.Response) -> list[tuple[str, dict]]:
    """The (event, data) pairs of a whole server-sent event stream."""
    events, name = [], "message"
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[6:])))
    return events


def test_a_long_poll_answers_as_the_entry_settles_or_when_its_wait_runs_out(stack, simulator):
    simulate(simulator, latency_ms=1000)
    entry_id = stack.request(make_query())["id"]
    short = httpx.get(f"{stack.url}/requests/{entry_id}", params={"wait": 0.2}, timeout=10)
    assert short.json()["status"] == "pending"
    started = time.monotonic()
    settled = httpx.get(f"{stack.url}/requests/{entry_id}", params={"wait": 15}, timeout=30).json()
    assert settled["status"] == "active" and time.monotonic() - started < 5


@pytest.mark.parametrize("wait", ["-1", "21", "soon", "nan"])
def test_a_wait_past_entry_wait_timeout_or_not_a_number_is_a_400(stack, wait):
    response = httpx.get(f"{stack.url}/requests/{'a' * 64}_9999999999", params={"wait": wait}, timeout=10)
    assert response.status_code == 400 and response.json()["loc"] == "wait"


def test_one_stream_tells_of_every_entry_once_as_it_settles_then_ends(stack, simulator):
    simulate(simulator)
    done = stack.request(make_query())["id"]
    assert httpx.get(f"{stack.url}/image/{done}", timeout=30).status_code == 200
    simulate(simulator, latency_ms=700)
    pending = [stack.request(make_query())["id"] for _ in range(5)]
    unknown = "b" * 64 + "_9999999999"
    started = time.monotonic()
    with httpx.stream("GET", f"{stack.url}/events", params={"id": [done, *pending, unknown]}, timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = read_events(response)
    took = time.monotonic() - started
    entries = {data["id"]: data for name, data in events if name == "entry"}
    assert len(entries) == len([name for name, _ in events if name == "entry"]) == 7  # each once
    assert entries[done]["status"] == "active" and entries[unknown] == {"id": unknown, "status": "not_found"}
    assert all(entries[i]["status"] == "active" and entries[i]["type"] == "image/png" for i in pending)
    assert entries[pending[0]]["size"] > 0
    assert events[-1] == ("done", {"entries": 7}) and took < 10


def test_a_stream_posted_with_a_list_ends_at_its_wait_with_what_is_still_pending(stack, simulator):
    simulate(simulator, latency_ms=4000)
    entry_id = stack.request(make_query())["id"]
    body = {"ids": [entry_id]}
    with httpx.stream("POST", f"{stack.url}/events", params={"wait": 0.5}, json=body, timeout=30) as response:
        events = read_events(response)
    (kind, pending), done = events
    assert kind == "entry" and done == ("done", {"entries": 1})
    assert {k: pending[k] for k in ("id", "status", "size", "type")} == {
        "id": entry_id,
        "status": "pending",
        "size": 0,
        "type": "",
    }
    assert pending["queue_position"] == 0  # it has a slot: where it stands, and (once a run was timed) its eta


def test_a_stream_with_wait_zero_tells_how_things_stand_at_once(stack, simulator):
    simulate(simulator, latency_ms=3000)
    entry_id = stack.request(make_query())["id"]
    started = time.monotonic()
    with httpx.stream("GET", f"{stack.url}/events", params={"id": entry_id, "wait": 0}, timeout=30) as response:
        events = read_events(response)
    assert events[0][1]["status"] == "pending" and time.monotonic() - started < 2


def test_a_stream_of_no_ids_or_too_many_is_a_400(stack):
    assert httpx.get(f"{stack.url}/events", timeout=10).status_code == 400
    too_many = {"ids": [f"{n:064x}_9999999999" for n in range(101)]}  # past what a URL holds: POST them
    for body in (too_many, {"ids": []}, {"ids": "x"}, [1]):
        assert httpx.post(f"{stack.url}/events", json=body, timeout=10).status_code == 400


def connections_to(redis: Redis) -> int:
    """Connections on this test process's database: other processes' tests use others."""
    database = str(redis.connection_pool.connection_kwargs["db"])
    return sum(client["db"] == database for client in redis.client_list())


def test_fifty_open_streams_use_no_redis_connection_of_their_own(stack, simulator, redis_url):
    """Opened one after another (so the web's connection pool need not grow for their first read), fifty waiting
    streams hold no Redis connection each: they wait on the process's one subscription."""
    simulate(simulator, latency_ms=3000)
    entry_id = stack.request(make_query())["id"]
    redis = Redis.from_url(redis_url)
    before = connections_to(redis)
    results: list[list] = []
    release = threading.Event()

    def listen(opened: threading.Event) -> None:
        with httpx.stream("GET", f"{stack.url}/events", params={"id": entry_id}, timeout=30) as response:
            opened.set()
            release.wait(20)
            results.append(read_events(response))

    threads = []
    for _ in range(50):
        opened = threading.Event()
        threads.append(threading.Thread(target=listen, args=(opened,)))
        threads[-1].start()
        assert opened.wait(10)
    during = connections_to(redis)
    release.set()
    for thread in threads:
        thread.join(30)
    assert during - before < 5
    assert len(results) == 50 and all(events[0][1]["status"] == "active" for events in results)

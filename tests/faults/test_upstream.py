"""A misbehaving upstream: every case ends as a settled entry with a clear answer."""

from __future__ import annotations

import signal
import socket
import struct
import threading

import httpx
import pytest

from testkit.processes import wait_until
from testkit.upstream import make_query, simulate, upstream_stats


@pytest.fixture(scope="module")
def stack(stack_factory):
    return stack_factory(KENTIK_API_RETRIES="1", KENTIK_API_TIMEOUT="2", ENTRY_WAIT_TIMEOUT="30")


def answer(stack, query=None):
    entry_id = stack.request(query or make_query())["id"]
    return httpx.get(f"{stack.url}/image/{entry_id}", timeout=60), entry_id


@pytest.mark.parametrize(
    ("garbage", "words"),
    [
        ("html", "no dataUri"),
        ("truncated", "no dataUri"),
        ("bad-base64", "bad base64"),
        ("wrong-mime", "unsupported data URI type"),
    ],
)
def test_garbage_answers_become_502_entries(stack, simulator, garbage, words):
    simulate(simulator, garbage=garbage)
    response, entry_id = answer(stack)
    assert response.status_code == 502 and words in response.json()["msg"]
    assert httpx.get(f"{stack.url}/requests/{entry_id}").json()["status"] == "error"
    assert upstream_stats(simulator)["calls"] == 1  # a malformed success is not retried


def test_rate_limited_upstream_is_waited_out(stack, simulator):
    simulate(simulator, fail_first=1, fail_status=429)
    response, _ = answer(stack)
    assert response.status_code == 200 and upstream_stats(simulator)["calls"] == 2


def test_hanging_upstream_ends_as_504(stack, simulator):
    simulate(simulator, latency_ms=10_000)
    response, _ = answer(stack)
    assert response.status_code == 504 and "timed out" in response.json()["msg"]


def test_slow_burst_answers_504_then_images(stack_factory, simulator):
    slow = stack_factory(UPSTREAM_MAX_CONCURRENCY="2", ENTRY_WAIT_TIMEOUT="1", KENTIK_API_TIMEOUT="5")
    wait_until(lambda: upstream_stats(simulator)["in_flight"] == 0, 15, "calls abandoned by earlier tests")
    simulate(simulator, latency_ms=1500)
    ids = [slow.request(make_query())["id"] for _ in range(6)]
    early = [httpx.get(f"{slow.url}/image/{entry_id}", timeout=10) for entry_id in ids[-2:]]
    assert all(r.status_code == 504 and r.headers["retry-after"] for r in early)
    wait_until(lambda: slow.info()["pending_count"] == 0, 30, "the burst to drain")
    assert all(httpx.get(f"{slow.url}/image/{entry_id}").status_code == 200 for entry_id in ids)
    assert upstream_stats(simulator)["peak_concurrency"] == 2


class ResettingUpstream:
    """Accepts connections and resets them at once (SO_LINGER 0)."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.recv(1024)
            conn.close()

    def close(self) -> None:
        self._sock.close()


def test_connection_resets_end_as_502(stack_factory):
    upstream = ResettingUpstream()
    try:
        resetting = stack_factory(KENTIK_API_URL=upstream.url, KENTIK_API_RETRIES="1")
        response, _ = answer(resetting)
        assert response.status_code == 502 and "cannot reach Kentik API" in response.json()["msg"]
    finally:
        upstream.close()


def test_a_fetch_that_keeps_killing_its_worker_is_given_up(stack_factory, simulator):
    doomed = stack_factory(MAX_FETCH_ATTEMPTS="2", KENTIK_API_TIMEOUT="30")
    simulate(simulator, latency_ms=30_000)
    entry_id = doomed.request(make_query())["id"]
    for attempt in (1, 2):
        wait_until(lambda n=attempt: upstream_stats(simulator)["calls"] == n, 30, f"attempt {attempt}")
        doomed.parts["worker"].signal(signal.SIGKILL)
        doomed.start_part("worker")
    response = httpx.get(f"{doomed.url}/image/{entry_id}", timeout=60)
    assert response.status_code == 502 and "gave up after 2" in response.json()["msg"]
    assert upstream_stats(simulator)["calls"] == 2

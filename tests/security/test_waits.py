"""Idle waits cannot hold the web down: requests that wait are admitted within a per-process budget and a
per-client cap; past them a 429 or a 503 with Retry-After, answered at once, while /health, /health/live and
/metrics always answer; a slot comes back when its client hangs up."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack

import falcon.testing
import httpx
import pytest

from imagecache.domain.networks import parse_networks
from imagecache.web.admission import WaitAdmission, WaitLimits
from testkit.processes import wait_until
from testkit.raw_http import read_response
from testkit.upstream import make_query, simulate

PER_CLIENT, PER_PROCESS = 6, 15
HELD = re.compile(r"^imagecache_waits_held (\S+)$", re.M)


@pytest.fixture(scope="module")
def stack(stack_factory, simulator):
    simulate(simulator, latency_ms=60_000)  # every entry stays pending while the module runs
    limits = {"WAITS_PER_PROCESS": str(PER_PROCESS), "WAITS_PER_CLIENT": str(PER_CLIENT)}
    stack = stack_factory(("web", "worker"), ENTRY_WAIT_TIMEOUT="120", **limits)
    yield stack
    simulate(simulator)


@pytest.fixture(scope="module")
def pending(stack) -> str:
    return stack.request(make_query())["id"]


class Waits:
    """Raw connections, each sending one waiting request from a loopback address of the test's choosing."""

    def __init__(self, port: int) -> None:
        self._port = port
        self.open: list[socket.socket] = []

    def send(self, path: str, source: str = "127.0.0.1", headers: str = "") -> socket.socket:
        conn = socket.create_connection(("127.0.0.1", self._port), timeout=10, source_address=(source, 0))
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n{headers}\r\n".encode())
        self.open.append(conn)
        return conn

    def close(self) -> None:
        for conn in self.open:
            conn.close()
        self.open.clear()


@pytest.fixture
def waits(stack) -> Iterator[Waits]:
    held = Waits(stack.port)
    yield held
    held.close()
    wait_until(lambda: server_held(stack) == 0, 10, "every slot to come back")


def server_held(stack) -> int:
    return int(float(HELD.search(httpx.get(stack.url + "/metrics", timeout=10).text).group(1)))


def kinds(entry_id: str) -> list[str]:
    return [f"/requests/{entry_id}?wait=60", f"/image/{entry_id}", f"/events?id={entry_id}&wait=60"]


def refused_at_once(conn: socket.socket) -> tuple[int, dict]:
    started = time.monotonic()
    answer = read_response(conn)
    assert time.monotonic() - started < 2
    return answer.status, answer.headers


def test_past_its_cap_a_client_gets_a_429_at_once_and_another_client_still_gets_in(stack, pending, waits):
    for n in range(PER_CLIENT):
        waits.send(kinds(pending)[n % 3])
    wait_until(lambda: server_held(stack) == PER_CLIENT, 10, "the waits to be held")
    conn = waits.send(kinds(pending)[0])
    started = time.monotonic()
    refused = read_response(conn)
    assert time.monotonic() - started < 2
    assert refused.status == 429 and refused.headers["retry-after"] == "2"
    assert refused.json()["msg"] == f"this client holds {PER_CLIENT} waiting requests already (WAITS_PER_CLIENT)"
    spoofed = waits.send(kinds(pending)[1], headers="X-Forwarded-For: 203.0.113.9\r\n")  # no trusted proxy: ignored
    assert refused_at_once(spoofed)[0] == 429
    waits.send(kinds(pending)[2], source="127.0.0.2")
    wait_until(lambda: server_held(stack) == PER_CLIENT + 1, 10, "another client's wait to be held")


def test_past_the_process_budget_a_503_at_once_while_health_and_metrics_answer(stack, pending, waits):
    for n in range(PER_PROCESS):
        waits.send(kinds(pending)[n % 3], source=f"127.0.0.{10 + n // PER_CLIENT}")
    wait_until(lambda: server_held(stack) == PER_PROCESS, 10, "the budget to be held")
    status, headers = refused_at_once(waits.send(kinds(pending)[0], source="127.0.0.50"))
    assert status == 503 and headers["retry-after"] == "2"
    for path in ("/health", "/health/live", "/metrics"):
        started = time.monotonic()
        assert httpx.get(stack.url + path, timeout=5).status_code == 200
        assert time.monotonic() - started < 1


@pytest.mark.parametrize("after", ["", "X", "GET /health HTTP/1.1\r\nHost: t\r\n\r\n"])
def test_a_slot_comes_back_when_its_client_hangs_up_and_a_wait_that_is_not_held_takes_none(
    stack, pending, waits, after
):
    """`after`: bytes sent behind the wait before hanging up (a stray byte, a pipelined request), which keep the
    socket readable: the hang-up behind them is still seen."""
    for n in range(PER_CLIENT):
        waits.send(kinds(pending)[n % 3]).sendall(after.encode())
    wait_until(lambda: server_held(stack) == PER_CLIENT, 10, "the waits to be held")
    waits.close()
    hung_up = time.monotonic()
    wait_until(lambda: server_held(stack) == 0, 10, "the slots to come back")
    recovered = time.monotonic() - hung_up
    assert recovered < 10  # recovered: seconds from the hang-up to every slot given back
    for _ in range(PER_CLIENT + 2):  # status without waiting (or ?wait=0) holds nothing
        assert httpx.get(f"{stack.url}/requests/{pending}?wait=0", timeout=5).status_code == 200
        assert httpx.get(f"{stack.url}/requests/{pending}", timeout=5).status_code == 200


def admission(trusted: str = "") -> WaitAdmission:
    return WaitAdmission(WaitLimits(PER_PROCESS, PER_CLIENT, parse_networks(trusted, "TRUSTED_PROXIES")))


def request(remote: str, forwarded: str = "", key: str | None = None) -> falcon.Request:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    req = falcon.testing.create_req(remote_addr=remote, headers=headers)
    if key:
        req.context.api_key_name = key
    return req


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "client"),
    [
        ("", "10.0.0.1", "", "addr:10.0.0.1"),
        ("", "10.0.0.1", "1.2.3.4", "addr:10.0.0.1"),  # a header anyone can send counts only from a trusted proxy
        ("10.0.0.0/8", "10.0.0.1", "1.2.3.4", "addr:1.2.3.4"),
        ("10.0.0.0/8", "::ffff:10.0.0.1", "1.2.3.4", "addr:1.2.3.4"),  # a dual-stack socket's peer
        ("10.0.0.0/8", "10.0.0.1", "6.6.6.6, 1.2.3.4", "addr:1.2.3.4"),  # what the proxy appended, not the client
        ("10.0.0.0/8", "10.0.0.1", "6.6.6.6, 10.0.0.7", "addr:10.0.0.7"),  # a private client behind the proxy
        ("10.0.0.0/8", "10.0.0.1", "not an address", "addr:not an address"),
        ("10.0.0.0/8", "192.0.2.1", "1.2.3.4", "addr:192.0.2.1"),
    ],
)
def test_a_client_is_its_address_or_what_a_trusted_proxy_appended_to_x_forwarded_for(
    trusted, remote, forwarded, client
):
    assert admission(trusted).client_of(request(remote, forwarded)) == client


def test_with_api_keys_a_client_is_its_keys_name_wherever_it_connects_from():
    waits = admission()
    with ExitStack() as held:
        for n in range(PER_CLIENT):
            held.enter_context(waits.hold(request(f"10.0.0.{n}", key="tenant-a")))
        with pytest.raises(falcon.HTTPError) as refused:
            held.enter_context(waits.hold(request("10.0.0.99", key="tenant-a")))
        assert refused.value.status_code == 429
        held.enter_context(waits.hold(request("10.0.0.1", key="tenant-b")))
        assert waits.held == PER_CLIENT + 1
    assert waits.held == 0

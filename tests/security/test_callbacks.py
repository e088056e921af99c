"""Callbacks cannot be aimed inward: a name that resolves to loopback, a private network or cloud metadata is
refused at connect time, before any connection is made; a URL the sender could not send is a 400 at POST; a
delivery that fails is one log line and a retry, never a traceback.

The refusals run through the real sender with a stub resolver, and an inner network backend that records every
connect and makes none: a wrong answer here fails the test without a packet leaving the machine.
"""

from __future__ import annotations

import subprocess
import sys

import httpcore
import httpx
import pytest

from imagecache.config import load_config
from testkit.processes import wait_until
from testkit.receiver import Receiver
from testkit.upstream import make_query, simulate
from workers.callbacks.connections import AddressRefused, CheckedConnections
from workers.callbacks.delivery import CallbackRefused, send

INWARD = {
    "hooks.example.com": ["127.0.0.1"],
    "metadata.example.com": ["169.254.169.254"],
    "redis.example.com": ["::ffff:127.0.0.1"],
    "lan.example.com": ["10.0.0.5", "fd00::5"],
    "cgnat.example.com": ["100.64.1.1"],
    "nothing.example.com": ["0.0.0.0"],
    "multicast.example.com": ["224.0.0.251"],
    "linklocal6.example.com": ["fe80::1"],
}


class NoConnections(httpcore.NetworkBackend):
    """Records each connect it is asked for and makes none."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, int]] = []

    def connect_tcp(self, host: str, port: int, *args: object, **kwargs: object) -> httpcore.NetworkStream:
        self.asked.append((host, port))
        raise httpcore.ConnectError("this test makes no connections")


def config(hosts: str, networks: str = ""):
    return load_config(callback_allowed_hosts=hosts, callback_allowed_networks=networks, callback_secret="s")


@pytest.mark.parametrize("name", sorted(INWARD))
def test_an_allowed_name_that_resolves_inward_is_refused_before_any_connect(name):
    inner = NoConnections()
    connections = CheckedConnections(config(name).callback_targets, lambda host, port: INWARD[host], inner)
    with pytest.raises(CallbackRefused, match="AddressRefused: .*is not public"):
        send(f"http://{name}/hook", "{}", config(name), connections)
    assert inner.asked == []


def test_the_address_that_was_checked_is_the_one_connected_to_with_no_second_lookup():
    lookups: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:  # public first, loopback on every later lookup
        lookups.append(host)
        return ["93.184.215.14"] if len(lookups) == 1 else ["127.0.0.1"]

    inner = NoConnections()
    connections = CheckedConnections(config("hooks.example.com").callback_targets, rebinding, inner)
    with pytest.raises(CallbackRefused, match="ConnectError"):
        send("https://hooks.example.com/hook", "{}", config("hooks.example.com"), connections)
    assert lookups == ["hooks.example.com"] and inner.asked == [("93.184.215.14", 443)]


def test_a_name_with_public_and_inward_addresses_connects_only_to_a_public_one():
    inner = NoConnections()
    targets = config("hooks.example.com").callback_targets
    connections = CheckedConnections(targets, lambda host, port: ["127.0.0.1", "8.8.8.8"], inner)
    with pytest.raises(CallbackRefused):
        send("http://hooks.example.com/x", "{}", config("hooks.example.com"), connections)
    assert inner.asked == [("8.8.8.8", 80)]


def test_allowed_networks_let_a_private_deployment_call_inside_them():
    targets = config("hooks.internal", "10.0.0.0/8").callback_targets
    assert CheckedConnections(targets, lambda host, port: ["10.1.2.3"]).checked_address("hooks.internal", 80) == (
        "10.1.2.3"
    )
    with pytest.raises(AddressRefused, match="192.168.1.1 is not public"):
        CheckedConnections(targets, lambda host, port: ["192.168.1.1"]).checked_address("hooks.internal", 80)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_a_callback_goes_to_the_path_as_written_with_the_host_it_names(host):
    receiver = Receiver(host)
    try:
        allowed = f"{'[::1]' if host == '::1' else host}:{receiver.port}"
        send(receiver.url + ";v=1?token=t", '{"id": "x"}', config(allowed, "127.0.0.0/8,::1/128"))
        assert receiver.paths == ["/hook;v=1?token=t"] and receiver.calls[0][0]["Host"] == allowed
    finally:
        receiver.stop()


@pytest.mark.parametrize(
    ("hosts", "says"),
    [
        ("https://hooks.example.com", "CALLBACK_ALLOWED_HOSTS: 'https://hooks.example.com' is not host or host:port"),
        ("hooks.example.com:http", "CALLBACK_ALLOWED_HOSTS: 'hooks.example.com:http' is not host or host:port"),
        ("[::1", "CALLBACK_ALLOWED_HOSTS: '[::1' is not host or host:port"),
    ],
)
def test_an_allowed_host_that_could_never_match_stops_the_start_with_one_line(tmp_path, hosts, says):
    result = subprocess.run(
        [sys.executable, "-m", "imagecache.cli", "callbacks"],
        env={"CALLBACK_ALLOWED_HOSTS": hosts, "CALLBACK_SECRET": "s", "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and says in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def stack(stack_factory, receiver):
    """Callbacks allowed to localhost by name, with no network allowed: what DNS pointing inward looks like."""
    return stack_factory(
        ("web", "worker", "callbacks"),
        CALLBACK_ALLOWED_HOSTS=f"localhost:{receiver.port},127.0.0.1:{receiver.port}",
        CALLBACK_SECRET="s",
        CALLBACK_RETRY_SECONDS="1,1",
    )


def test_a_live_callback_to_a_name_resolving_to_loopback_never_arrives_and_each_try_is_one_line(
    stack, receiver, simulator
):
    simulate(simulator)
    hook = f"http://localhost:{receiver.port}/hook"
    entry_id = stack.request(make_query(), callback_url=hook)["id"]
    assert httpx.get(f"{stack.url}/image/{entry_id}", timeout=30).status_code == 200
    log = stack.parts["callbacks"].log
    wait_until(lambda: log().count("is not public") >= 3, 30, "the first try and both retries")
    assert receiver.calls == [] and "Traceback" not in log()
    assert all(line.count("localhost") <= 1 for line in log().splitlines() if "is not public" in line)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/hook",  # an address in the URL: refused at POST, not only at delivery
        "http://localhost:{port}/a\tb",
        "http://localhost:{port}/a\nb",
        "http://localhost:{port}/a\r\nX-Injected: 1",
        "http://localhost:{port}/\x00",
        "http://localhost:{port}/a b",
        "http://localhost:6379/",
    ],
)
def test_a_callback_url_that_cannot_or_may_not_be_sent_is_a_400_that_changes_nothing(stack, receiver, url):
    before = stack.info()
    body = {"api_query": make_query(), "callback_url": url.format(port=receiver.port)}
    response = httpx.post(stack.url + "/requests", json=body, timeout=10)
    assert response.status_code == 400 and response.json()["loc"] == "callback_url"
    assert stack.info()["misses"] == before["misses"] and stack.info()["pending_count"] == before["pending_count"]

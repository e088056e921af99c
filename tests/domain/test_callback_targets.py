"""CallbackTargets: which callback URLs are accepted at POST and which addresses a delivery may connect to."""

from __future__ import annotations

import ipaddress
import re

import httpcore
import pytest
from hypothesis import given
from hypothesis import strategies as st

from imagecache.domain.callback_targets import CallbackTargets

TARGETS = CallbackTargets.parse("hooks.example.com, 127.0.0.1:8080, [::1]:9000, 10.1.2.3", "")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://hooks.example.com/x", None),
        ("http://HOOKS.example.com:80/x?a=b", None),
        ("https://hooks.example.com:8443/x", "hooks.example.com:8443 is not in CALLBACK_ALLOWED_HOSTS"),
        ("https://evil.example.com/x", "not in CALLBACK_ALLOWED_HOSTS"),
        ("https://hooks.example.com.evil.net/x", "not in CALLBACK_ALLOWED_HOSTS"),
        ("http://169.254.169.254/latest", "not in CALLBACK_ALLOWED_HOSTS"),
        ("http://127.0.0.1:8080/x", "address 127.0.0.1 is not public"),
        ("http://127.0.0.1:6379/x", "not in CALLBACK_ALLOWED_HOSTS"),
        ("http://[::1]:9000/x", "address ::1 is not public"),
        ("http://10.1.2.3/x", "address 10.1.2.3 is not public"),
        ("gopher://hooks.example.com/", "http or https"),
        ("https://me:pw@hooks.example.com/", "no credentials"),
        ("https://hooks.example.com:70000/", "is not a URL"),
        ("http://hooks.example.com:0/", "port 0"),
        ("https://hooks.example.com/a\tb", "control characters"),
        ("https://hooks.example.com/a\nb", "control characters"),
        ("https://hooks.example.com/a\r\nX-Injected: 1", "control characters"),
        ("https://hooks.example.com/\x00", "control characters"),
        ("https://hooks.example.com/a b", "without spaces"),
        ("https://hooks.example.com/é", "ASCII"),
        ("x" * 3000, "at most 2048"),
        (5, "at most 2048"),
    ],
)
def test_only_sendable_http_urls_to_allowed_hosts_and_ports_are_accepted(url, says):
    problem = TARGETS.url_problem(url)
    assert problem is None if says is None else says in problem


def test_with_no_allowed_hosts_callbacks_are_off():
    assert not CallbackTargets().enabled
    assert "callbacks are off" in CallbackTargets().url_problem("https://hooks.example.com/")


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.9.9.9", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "224.0.0.1", "239.1.1.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1",
        "ff02::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "2002:7f00:1::1",
        "64:ff9b::a00:5", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:5", "::a00:5", "::7f00:1", "::ffff:0:a00:5",
        "fec0::1", "2001::1", "2001:db8::1", "100::1", "198.18.0.1", "192.0.2.1", "240.0.0.1", "192.0.0.8",
    ],
)  # fmt: skip
def test_every_address_that_is_not_public_is_refused(address):
    assert "is not public" in TARGETS.address_problem(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2e", "8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses_are_allowed(address):
    assert TARGETS.address_problem(ipaddress.ip_address(address)) is None


def test_allowed_networks_let_in_the_addresses_inside_them_and_their_ipv4_mapped_forms():
    targets = CallbackTargets.parse("127.0.0.1", "127.0.0.0/8, fd00::/8")
    for address in ("127.0.0.1", "::ffff:127.0.0.1", "fd00::5"):
        assert targets.address_problem(ipaddress.ip_address(address)) is None
    assert "is not public" in targets.address_problem(ipaddress.ip_address("10.0.0.1"))


@pytest.mark.parametrize(
    "entry", ["https://hooks.example.com", "host:", "host:99999", "host:port", "::1", "[nothing]", "a/b", "h o"]
)
def test_an_allowed_host_that_could_never_match_is_refused_naming_it(entry):
    with pytest.raises(ValueError, match=re.escape(f"CALLBACK_ALLOWED_HOSTS: {entry!r} is not host or host:port")):
        CallbackTargets.parse(f"ok.example.com,{entry}", "")


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "nonsense", "10.0.0.0/8/8"])
def test_an_allowed_network_that_is_not_a_cidr_is_refused_naming_it(entry):
    with pytest.raises(ValueError, match="CALLBACK_ALLOWED_NETWORKS: .* is not a CIDR"):
        CallbackTargets.parse("ok.example.com", f"10.0.0.0/8,{entry}")


@given(st.text(max_size=80))
def test_any_url_accepted_is_one_the_sender_parses_to_the_host_and_port_that_were_checked(tail):
    url = "https://hooks.example.com/" + tail
    if TARGETS.url_problem(url) is None:
        parsed = httpcore.URL(url)
        assert (parsed.host, parsed.port) == (b"hooks.example.com", None)
        httpcore.Request("POST", url)  # builds: a URL the client can send

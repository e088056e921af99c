"""CallbackTargets: where a callback may go, by name and port (CALLBACK_ALLOWED_HOSTS) and by the address the name
resolves to (never loopback, private, link-local, CGNAT, unique-local, multicast or unspecified, unless inside
CALLBACK_ALLOWED_NETWORKS).

A name is only a label an attacker may point anywhere with DNS, so the address
is checked too, at connect time, by the sender (workers/callback_connections.py),
which connects to the very address it checked. A URL is refused here, at POST,
when the sender could not send it as written: control characters, spaces,
anything outside ASCII, credentials, a scheme other than http or https.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from dataclasses import dataclass

from imagecache.domain.networks import IpAddress, IpNetwork, parse_networks

MAX_URL_LENGTH = 2048
DEFAULT_PORTS = frozenset({80, 443})  # what an entry without a port allows
_SCHEME_PORTS = {"http": 80, "https": 443}
_ENTRY = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9.-]+))(?::(?P<port>\d{1,5}))?$")
_SENDABLE = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII without space: what HTTP clients send unchanged


@dataclass(frozen=True)
class AllowedHost:
    name: str  # lowercase; an IPv6 address without brackets
    ports: frozenset[int]


@dataclass(frozen=True)
class CallbackTargets:
    hosts: tuple[AllowedHost, ...] = ()
    networks: tuple[IpNetwork, ...] = ()

    @classmethod
    def parse(cls, hosts: str, networks: str) -> CallbackTargets:
        """From the two settings' texts (comma lists); ValueError naming the first entry that is not valid."""
        return cls(
            tuple(_allowed_host(entry) for entry in _entries(hosts)),
            parse_networks(networks, "CALLBACK_ALLOWED_NETWORKS"),
        )

    @property
    def enabled(self) -> bool:
        return bool(self.hosts)

    def url_problem(self, url: object) -> str | None:
        """Why a callback may not be sent to this URL, or None; an address in the URL itself is checked too."""
        if not self.enabled:
            return "callbacks are off here (CALLBACK_ALLOWED_HOSTS is empty)"
        if not isinstance(url, str) or not 0 < len(url) <= MAX_URL_LENGTH:
            return f"'callback_url' must be a URL of at most {MAX_URL_LENGTH} characters"
        if not _SENDABLE.match(url):
            return "'callback_url' must be printable ASCII without spaces or control characters (percent-encode them)"
        try:
            parts = urllib.parse.urlsplit(url)
            port = parts.port or _SCHEME_PORTS.get(parts.scheme)
        except ValueError:
            return "'callback_url' is not a URL"
        host = parts.hostname
        if parts.scheme not in _SCHEME_PORTS or not host or parts.username is not None or parts.password is not None:
            return "'callback_url' must be an http or https URL with a host and no credentials"
        if not any(allowed.name == host and port in allowed.ports for allowed in self.hosts):
            return f"{_host_port(host, port)} is not in CALLBACK_ALLOWED_HOSTS"
        literal = _address(host)
        return self.address_problem(literal) if literal is not None else None

    def address_problem(self, address: IpAddress) -> str | None:
        """Why a callback may not connect to this address, or None."""
        if any(address in network for network in self.networks):
            return None
        inner = _embedded_ipv4(address)
        if inner is not None:
            if any(inner in network for network in self.networks):
                return None
            address = inner
        if address.is_global and not address.is_multicast:
            return None
        return f"address {address} is not public (allow it with CALLBACK_ALLOWED_NETWORKS)"


def _entries(text: str) -> list[str]:
    return [entry.strip() for entry in text.split(",") if entry.strip()]


def _allowed_host(entry: str) -> AllowedHost:
    match = _ENTRY.match(entry)
    problem = f"CALLBACK_ALLOWED_HOSTS: {entry!r} is not host or host:port (such as hooks.example.com:8443)"
    if match is None or match["v6"] and _address(match["v6"]) is None:
        raise ValueError(problem)
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 0 < port < 65536:
        raise ValueError(problem)
    name = (match["v6"] or match["name"]).lower()
    return AllowedHost(name, DEFAULT_PORTS if port is None else frozenset({port}))


def _address(text: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _embedded_ipv4(address: IpAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (::ffff:a.b.c.d, 6to4), whose class decides."""
    if isinstance(address, ipaddress.IPv6Address):
        return address.ipv4_mapped or address.sixtofour
    return None


def _host_port(host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}"

"""CallbackTargets: where a callback may go, by name and port (CALLBACK_ALLOWED_HOSTS) and by the address the name
resolves to (never loopback, private, link-local, CGNAT, unique-local, multicast or unspecified, unless inside
CALLBACK_ALLOWED_NETWORKS).

A name is only a label an attacker may point anywhere with DNS, so the address
is checked too, at connect time, by the sender (workers/callbacks/connections.py),
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

# Refused whatever Python's `is_global` says of them (its tables change between releases): the special-purpose
# registries' ranges that are not the public internet, IANA's lists as of RFC 6890 and its updates.
NOT_PUBLIC: tuple[IpNetwork, ...] = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
        "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "fc00::/7", "fe80::/10",
        "fec0::/10", "ff00::/8",
    )
)  # fmt: skip
_CARRY_IPV4 = tuple(ipaddress.ip_network(cidr) for cidr in ("::/96", "::ffff:0:0:0/96", "64:ff9b::/96"))


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
        if not _SENDABLE.fullmatch(url):
            return "'callback_url' must be printable ASCII without spaces or control characters (percent-encode them)"
        try:
            parts = urllib.parse.urlsplit(url)
            port = _SCHEME_PORTS.get(parts.scheme) if parts.port is None else parts.port
        except ValueError:
            return "'callback_url' is not a URL"
        if port == 0:
            return "'callback_url' names port 0"
        host = parts.hostname
        if parts.scheme not in _SCHEME_PORTS or not host or parts.username is not None or parts.password is not None:
            return "'callback_url' must be an http or https URL with a host and no credentials"
        if not any(allowed.name == host and port in allowed.ports for allowed in self.hosts):
            return f"{_host_port(host, port)} is not in CALLBACK_ALLOWED_HOSTS"
        literal = _address(host)
        return self.address_problem(literal) if literal is not None else None

    def address_problem(self, address: IpAddress) -> str | None:
        """Why a callback may not connect to this address, or None. An IPv6 address that carries an IPv4 one
        (mapped, compatible, NAT64, 6to4) is judged by the IPv4 address, where the packet ends up."""
        inner = _embedded_ipv4(address)
        if any(candidate in network for network in self.networks for candidate in (address, inner) if candidate):
            return None
        judged = inner or address
        if judged.is_global and not any(judged in network for network in NOT_PUBLIC):
            return None
        return f"address {judged} is not public (allow it with CALLBACK_ALLOWED_NETWORKS)"


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
    """The IPv4 address an IPv6 one stands for: mapped (::ffff:a.b.c.d), translated (::ffff:0:a.b.c.d), compatible
    (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) or 6to4 (2002:AABB:CCDD::)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped or address.sixtofour:
        return address.ipv4_mapped or address.sixtofour
    if any(address in network for network in _CARRY_IPV4) and int(address) & 0xFFFFFFFF > 1:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _host_port(host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}"

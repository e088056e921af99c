"""Addresses named in settings: comma lists of CIDRs (CALLBACK_ALLOWED_NETWORKS, TRUSTED_PROXIES) and of
host:port (REDIS_SENTINELS)."""

from __future__ import annotations

import ipaddress

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str, setting: str) -> tuple[IpNetwork, ...]:
    """Each CIDR of a comma list (an address alone is a network of one); ValueError naming the setting and entry."""
    found = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        try:
            found.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{setting}: {entry!r} is not a CIDR (such as 10.0.0.0/8)") from None
    return tuple(found)


def parse_host_ports(text: str, setting: str) -> list[tuple[str, int]]:
    """Each host:port of a comma list (an IPv6 host in brackets); ValueError naming the setting and entry."""
    found = []
    for address in filter(None, (part.strip() for part in text.split(","))):
        host, _, port = address.rpartition(":")
        if not (host and port.isdigit()):
            raise ValueError(f"{setting} must be comma-separated host:port, not {address!r}")
        found.append((host.strip("[]"), int(port)))
    return found


def address_in(address: str, networks: tuple[IpNetwork, ...]) -> bool:
    """Whether a textual address lies in any of the networks (False for text that is no address); an IPv4 address
    mapped into IPv6 (a dual-stack socket's peer, ::ffff:a.b.c.d) counts as itself."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)

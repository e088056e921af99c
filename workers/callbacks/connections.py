"""CheckedConnections: httpcore's network backend for callbacks, which resolves a host's name once, checks each
address against CallbackTargets and connects to the first one allowed, that very address (DNS cannot answer the
check with one address and the connection with another).

TLS still verifies the certificate against the URL's name: httpcore hands the
name, not the address, to the TLS layer.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any

import httpcore

from imagecache.domain.callback_targets import CallbackTargets

Resolver = Callable[[str, int], list[str]]


class AddressRefused(Exception):
    """No address of the callback's host may be called; nothing was connected."""


def resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host (an address itself comes back as it is)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise AddressRefused(f"{host} does not resolve ({exc.strerror})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in found))


class CheckedConnections(httpcore.NetworkBackend):
    def __init__(
        self,
        targets: CallbackTargets,
        resolver: Resolver = resolve,
        inner: httpcore.NetworkBackend | None = None,
    ) -> None:
        self._targets = targets
        self._resolve = resolver
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        address = self.checked_address(host, port)
        return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)

    def checked_address(self, host: str, port: int) -> str:
        """The first address of host that callbacks may reach; AddressRefused naming them all when none may."""
        addresses = self._resolve(host.strip("[]"), port)
        problems = []
        for address in addresses:
            problem = self._targets.address_problem(ipaddress.ip_address(address.partition("%")[0]))
            if problem is None:
                return address
            problems.append(problem)
        raise AddressRefused("; ".join(problems) or f"{host} has no address")

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise AddressRefused("callbacks never use Unix sockets")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)

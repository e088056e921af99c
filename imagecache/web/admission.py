"""WaitAdmission: the requests that wait (a long poll, an event stream, GET /image of a pending entry) hold a
connection each, so each web process admits at most WAITS_PER_PROCESS of them, and at most WAITS_PER_CLIENT for one
client; past the client's cap a 429, past the process's budget a 503, each answered at once with Retry-After.

Without a bound, one client opening thousands of idle waits fills gunicorn's
connections and every other request, /health included, queues behind them.
The bound leaves room: gunicorn takes WAITS_PER_PROCESS + HEADROOM connections
per process (ops/web_server.py), so requests that do not wait always get in.

A wait whose client hangs up ends at once, giving its slot back (a client
cannot keep slots by connecting and leaving). A client is the name of its API key when keys are on, else its
address; an
X-Forwarded-For address counts only when the peer is one of TRUSTED_PROXIES
(nginx in front), read from the right, past every trusted hop.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import falcon
import gevent
import gevent.socket
from prometheus_client import Gauge

from imagecache.domain.networks import IpNetwork, address_in
from imagecache.web.error_responses import ApiError

RETRY_AFTER = "2"
HELD = Gauge("imagecache_waits_held", "requests waiting for a result, held open now", multiprocess_mode="livesum")


@dataclass(frozen=True)
class WaitLimits:
    per_process: int
    per_client: int
    trusted_proxies: tuple[IpNetwork, ...] = ()


class WaitAdmission:
    def __init__(self, limits: WaitLimits) -> None:
        self._limits = limits
        self._held: dict[str, int] = {}
        self._total = 0
        self._lock = threading.Lock()

    @property
    def held(self) -> int:
        return self._total

    @contextmanager
    def hold(self, req: falcon.Request) -> Iterator[None]:
        """A slot for one waiting request for as long as the block runs; ApiError 429 or 503 when there is none."""
        client = self._take(req)
        watch = _HangUpWatch.start(req)
        try:
            yield
        finally:
            watch.stop()
            self._give_back(client)

    def hold_stream(self, req: falcon.Request, stream: Iterator[bytes]) -> HeldStream:
        """A slot held until the response stream is closed (WSGI closes it however the response ends)."""
        client = self._take(req)
        watch = _HangUpWatch.start(req)

        def release() -> None:
            watch.stop()
            self._give_back(client)

        return HeldStream(stream, release)

    def _take(self, req: falcon.Request) -> str:
        client = self.client_of(req)
        with self._lock:
            if self._held.get(client, 0) >= self._limits.per_client:
                raise ApiError(
                    429,
                    f"this client already holds {self._limits.per_client} waiting requests here (WAITS_PER_CLIENT)",
                    loc="request",
                    kind="too many requests",
                    headers={"Retry-After": RETRY_AFTER},
                )
            if self._total >= self._limits.per_process:
                raise ApiError(
                    503,
                    f"this server holds {self._limits.per_process} waiting requests already (WAITS_PER_PROCESS)",
                    loc="request",
                    kind="unavailable",
                    headers={"Retry-After": RETRY_AFTER},
                )
            self._held[client] = self._held.get(client, 0) + 1
            self._total += 1
        HELD.inc()
        return client

    def _give_back(self, client: str) -> None:
        with self._lock:
            left = self._held[client] - 1
            if left:
                self._held[client] = left
            else:
                del self._held[client]
            self._total -= 1
        HELD.dec()

    def client_of(self, req: falcon.Request) -> str:
        """Who a request counts against: its API key's name, or the address it came from."""
        name = req.context.get("api_key_name")
        if name:
            return f"key:{name}"
        return "addr:" + self._address(req)

    def _address(self, req: falcon.Request) -> str:
        trusted = self._limits.trusted_proxies
        peer = req.remote_addr or ""
        if not address_in(peer, trusted):
            return peer
        forwarded = [hop.strip() for hop in (req.get_header("X-Forwarded-For") or "").split(",") if hop.strip()]
        for hop in reversed(forwarded):
            if not address_in(hop, trusted):
                return hop
            peer = hop
        return peer


class HeldStream:
    """A response stream holding a wait slot until it is closed, whether or not it was ever read."""

    def __init__(self, stream: Iterator[bytes], release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    def __iter__(self) -> Iterator[bytes]:
        return self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()
        if self._release is not None:
            self._release()
            self._release = None


class _HangUpWatch:
    """Ends the request's greenlet (GreenletExit, which unwinds every finally and context manager: the wait's watch,
    its slot, gunicorn's connection) when its client hangs up while it waits. Under gunicorn's gevent worker only;
    elsewhere there is no socket to watch. A client that sends more instead (a pipelined request) is let be."""

    def __init__(self, watcher: gevent.Greenlet | None) -> None:
        self._watcher = watcher

    @classmethod
    def start(cls, req: falcon.Request) -> _HangUpWatch:
        sock = req.env.get("gunicorn.socket")
        if sock is None:
            return cls(None)
        return cls(gevent.spawn(_end_when_gone, sock.fileno(), gevent.getcurrent()))

    def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.kill(block=False)
            self._watcher = None


def _end_when_gone(fileno: int, waiter: gevent.Greenlet) -> None:
    try:
        gevent.socket.wait_read(fileno)
        with socket.socket(fileno=os.dup(fileno)) as peek:  # a plain view of the bytes, under TLS too
            gone = peek.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        gone = False
    except OSError:
        gone = True
    if gone:
        waiter.kill(block=False)

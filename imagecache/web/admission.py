"""WaitAdmission: the requests that wait (a long poll, an event stream, GET /image of a pending entry) hold a
connection each, so each web process admits at most WAITS_PER_PROCESS of them, and at most WAITS_PER_CLIENT for one
client; past the client's cap a 429, past the process's budget a 503, each answered at once with Retry-After.

Without a bound, one client opening thousands of idle waits fills gunicorn's
connections and every other request, /health included, queues behind them.
The bound leaves room: gunicorn takes WAITS_PER_PROCESS + CONNECTION_HEADROOM (config.py) connections
per process (ops/web_server.py), so requests that do not wait always get in.

A wait whose client hangs up ends within WATCH_AFTER, giving its slot back (a client
cannot keep slots by connecting and leaving). A client is the name of its API key when keys are on, else its
address; when the peer is one of TRUSTED_PROXIES (nginx in front), the address that proxy appended to
X-Forwarded-For, its last entry (every earlier one is the client's to write).
"""

from __future__ import annotations

import select
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import falcon
import gevent
import gevent.socket
from gevent import monkey
from prometheus_client import Gauge

from imagecache.domain.networks import IpNetwork, address_in
from imagecache.web.error_responses import ApiError

RETRY_AFTER = "2"
UNREAD_BYTES_CHECK = 1.0  # seconds between looks for a hang-up behind bytes the client sent on
WATCH_AFTER = 0.5  # seconds a wait runs before its client's socket is watched for a hang-up
_poll = monkey.get_original("select", "poll")  # gevent's patching removes select.poll; asked with no timeout here
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
        try:
            watch = _HangUpWatch(req)
            try:
                yield
            finally:
                watch.stop()
        finally:
            self._give_back(client)

    def hold_stream(self, req: falcon.Request, stream: Iterator[bytes]) -> HeldStream:
        """A slot held until the response stream is closed (WSGI closes it however the response ends)."""
        client = self._take(req)
        try:
            watch = _HangUpWatch(req)
        except BaseException:
            self._give_back(client)
            raise

        def release() -> None:
            try:
                watch.stop()
            finally:
                self._give_back(client)

        return HeldStream(stream, release)

    def _take(self, req: falcon.Request) -> str:
        client = self.client_of(req)
        with self._lock:
            if self._held.get(client, 0) >= self._limits.per_client:
                raise _refused(429, f"this client holds {self._limits.per_client}", "WAITS_PER_CLIENT")
            if self._total >= self._limits.per_process:
                raise _refused(503, f"this server holds {self._limits.per_process}", "WAITS_PER_PROCESS")
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
        peer = req.remote_addr or ""
        if not address_in(peer, self._limits.trusted_proxies):
            return peer
        forwarded = [hop.strip() for hop in (req.get_header("X-Forwarded-For") or "").split(",") if hop.strip()]
        return forwarded[-1] if forwarded else peer


def _refused(status: int, holds: str, setting: str) -> ApiError:
    """A wait refused at once, with when to try again."""
    kind = "too many requests" if status == 429 else "unavailable"
    message = f"{holds} waiting requests already ({setting})"
    return ApiError(status, message, loc="request", kind=kind, headers={"Retry-After": RETRY_AFTER})


class HeldStream:
    """A response stream holding a wait slot until it is closed, whether or not it was ever read."""

    def __init__(self, stream: Iterator[bytes], release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    def __iter__(self) -> Iterator[bytes]:
        return self._stream

    def close(self) -> None:
        try:
            close = getattr(self._stream, "close", None)
            if close is not None:
                close()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class _HangUpWatch:
    """While a wait runs, ends it (GreenletExit in its greenlet, which unwinds every finally and context manager:
    the wait's watch, its slot, gunicorn's connection) when its client hangs up. Under gunicorn's gevent worker
    only; elsewhere there is no socket to watch.

    The socket is watched once the wait has run WATCH_AFTER: most waits (a fresh result's GET) end sooner, and a
    timer costs them far less than a watching greenlet would, while a client that hangs up still frees its slot
    within WATCH_AFTER. The end is thrown from the hub, and only while the wait is still on: a wait that ended
    meanwhile is never interrupted later, somewhere else. Bytes the client sent on (a pipelined request, a body
    never read) keep the socket readable, so a hang-up behind them is looked for once a second (POLLRDHUP tells a
    FIN from data)."""

    def __init__(self, req: falcon.Request) -> None:
        self._waiter = gevent.getcurrent()
        self._on = True
        self._watcher: gevent.Greenlet[..., None] | None = None
        self._timer = None
        sock = req.env.get("gunicorn.socket")
        if sock is not None:
            self._timer = gevent.get_hub().loop.timer(WATCH_AFTER)
            self._timer.start(self._start, sock.fileno())

    def stop(self) -> None:
        self._on = False
        if self._timer is not None:
            self._timer.close()
        if self._watcher is not None:
            self._watcher.kill(block=False)

    def _start(self, fileno: int) -> None:
        """In the hub, as the timer fires: the waiter is suspended, inside its wait while `_on`."""
        if self._on:
            self._watcher = gevent.spawn(self._watch, fileno)

    def _watch(self, fileno: int) -> None:
        hung_up = _poll()
        hung_up.register(fileno, select.POLLRDHUP | select.POLLHUP | select.POLLERR)
        while True:
            gevent.socket.wait_read(fileno)
            if hung_up.poll(0):
                gevent.get_hub().loop.run_callback(self._end)
                return
            gevent.sleep(UNREAD_BYTES_CHECK)

    def _end(self) -> None:
        """In the hub, so the waiter is suspended: inside its wait while `_on`."""
        if self._on:
            self._waiter.throw(gevent.GreenletExit)

"""Under gevent, redis-py's readiness check asks the kernel when it cannot wait anyway.

redis-py asks whether a connection has unread bytes each time its pool hands
one out (timeout 0). gevent's patched poll answers that with a watcher and a
turn of its loop: a tenth of a web worker's CPU under fresh results
(bench/profile.py). A check that cannot wait goes to the kernel's own poll; one
that may wait (a subscription's get_message) stays cooperative, so it never
holds the loop.
"""

from __future__ import annotations

import select
from collections.abc import Callable
from typing import Any

from gevent import monkey
from redis._parsers import hiredis

Readiness = Callable[[Any, float], bool]


def check_readiness_without_waiting() -> None:
    """Once per process, where gevent patched select (gunicorn's web workers); elsewhere nothing changes."""
    if monkey.is_module_patched("select") and not getattr(hiredis._socket_can_read, "kernel_first", False):
        hiredis._socket_can_read = ready_without_waiting(hiredis._socket_can_read)  # type: ignore[assignment]


def ready_without_waiting(cooperative: Readiness) -> Readiness:
    kernel_poll = monkey.get_original("select", "poll")

    def ready(sock: Any, timeout: float) -> bool:
        if timeout != 0 or (hasattr(sock, "pending") and sock.pending()):
            return cooperative(sock, timeout)
        poller = kernel_poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))

    ready.kernel_first = True  # type: ignore[attr-defined]
    return ready

"""SIGTERM and SIGINT as a threading.Event, without a handler that can deadlock.

A Python signal handler runs in the main thread between two bytecodes, so it may
interrupt that thread inside a lock it holds; Event.set takes the event's lock,
so a second signal landing while the first handler was inside set() waited
forever for a lock its own thread held (a maintenance process ignored SIGTERM
for good; a supervisor and an orchestrator may both signal, and Ctrl-C reaches
the whole group). Here the handler runs no Python code at all: the interpreter
writes the signal's number to a pipe (signal.set_wakeup_fd, from its C-level
handler), and a thread of its own reads it and sets the event.

The threads a process starts for its work run with these signals blocked
(`shielded`), so the kernel delivers them to the main thread and never cuts
short a blocking call elsewhere: on CPython 3.11 a `queue.SimpleQueue.get`
with a timeout that a signal interrupts near its deadline waits forever
(a worker's completions thread hung so through a burst of SIGTERMs).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def stop_on_signals(stop: threading.Event, said: str = "") -> None:
    """Set `stop` at the first SIGTERM or SIGINT, logging `said`; call from the main thread."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)  # a burst past the pipe's room drops signals, never blocks the handler
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    for signum in STOP_SIGNALS:
        signal.signal(signum, _noted)

    def watch() -> None:
        os.read(read_end, 1)
        if said:
            log.info(said)
        stop.set()
        while os.read(read_end, 4096):  # later signals change nothing; the pipe is kept empty for them
            pass

    threading.Thread(target=shielded(watch), name="stop-signals", daemon=True).start()


def shielded(target: Callable[..., object]) -> Callable[..., None]:
    """`target` run with the stop signals blocked in its thread (the main thread takes them)."""

    def run(*args: Any) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        target(*args)

    return run


def _noted(signum: int, frame: FrameType | None) -> None:
    """The wakeup pipe has it already: nothing to do in the interrupted thread."""

"""Watchdog: a job past its timeout is interrupted in its thread, as RQ's TimerDeathPenalty does.

One thread watches every running job, instead of a timer thread per job.
The interrupted job ends without settling its entry, which its worker then
hands out again (services/recovery.py), up to MAX_FETCH_ATTEMPTS.
"""

from __future__ import annotations

import ctypes
import threading
import time

TICK = 1.0


class JobTimedOut(Exception):
    """Raised inside a job's thread when it runs past its timeout."""


class Watchdog:
    def __init__(self) -> None:
        self._deadlines: dict[int, float] = {}
        self._fired: set[int] = set()
        self._lock = threading.Lock()

    def start_job(self, timeout: float) -> None:
        with self._lock:
            self._deadlines[threading.get_ident()] = time.monotonic() + timeout

    def end_job(self) -> None:
        """An interruption sent too late to land inside the job is withdrawn (it may land here instead: callers
        treat a JobTimedOut from end_job as the job's)."""
        ident = threading.get_ident()
        with self._lock:
            self._deadlines.pop(ident, None)
            if ident in self._fired:
                self._fired.discard(ident)
                _interrupt(ident, None)

    def run(self, stopped: threading.Event) -> None:
        while not stopped.wait(TICK):
            now = time.monotonic()
            with self._lock:
                late = [ident for ident, deadline in self._deadlines.items() if deadline <= now]
                for ident in late:
                    del self._deadlines[ident]
                    self._fired.add(ident)
                    _interrupt(ident, JobTimedOut)


def _interrupt(ident: int, exception: type[BaseException] | None) -> None:
    """Raise `exception` in thread `ident` at its next instruction; None withdraws one not yet raised."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), ctypes.py_object(exception) if exception else None
    )

"""The watchdog interrupts a job past its timeout in its own thread, and never a thread whose job has ended."""

from __future__ import annotations

import threading
import time

from workers import watchdog
from workers.watchdog import JobTimedOut, Watchdog


def run_watched(timeout: float, work: float, after: float = 0.0) -> list[str]:
    """A thread runs a job of `work` seconds under `timeout`, then goes on for `after` seconds; what it saw."""
    dog, stopped, seen = Watchdog(), threading.Event(), []

    def job() -> None:
        try:
            dog.start_job(timeout)
            try:
                deadline = time.monotonic() + work
                while time.monotonic() < deadline:
                    pass  # busy, as a job parsing or rendering is: the interruption lands between instructions
            finally:
                dog.end_job()
            seen.append("finished")
        except JobTimedOut:
            seen.append("timed out")
        try:
            deadline = time.monotonic() + after
            while time.monotonic() < deadline:
                pass
            seen.append("carried on")
        except JobTimedOut:
            seen.append("interrupted after its job")

    thread = threading.Thread(target=job)
    keeper = threading.Thread(target=dog.run, args=(stopped,))
    keeper.start()
    thread.start()
    thread.join(10)
    stopped.set()
    keeper.join()
    return seen


def test_a_job_past_its_timeout_is_interrupted(monkeypatch):
    monkeypatch.setattr(watchdog, "TICK", 0.05)
    assert run_watched(timeout=0.2, work=5) == ["timed out", "carried on"]


def test_a_job_within_its_timeout_runs_to_its_end_and_the_thread_carries_on(monkeypatch):
    monkeypatch.setattr(watchdog, "TICK", 0.05)
    assert run_watched(timeout=1.0, work=0.2, after=1.5) == ["finished", "carried on"]

"""Heartbeats a container's health check can read: a process that runs no HTTP server (worker, maintenance,
callbacks) touches a file of its own each time it has done its work against Redis, and `imagecache health` says
whether that file is fresh. The file is under the temporary directory, named by the role and the process id, so
processes sharing a machine never read each other's."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

# How old a heartbeat may be before the process counts as stuck: a few of its own rounds.
STALE_AFTER = {"worker": 10.0, "callbacks": 90.0}  # maintenance: three of its periods (CACHE_MAINTENANCE_PERIOD)


def heartbeat_path(role: str, pid: int) -> Path:
    return Path(tempfile.gettempdir()) / f"imagecache-{role}-{pid}.alive"


def beat(role: str) -> None:
    """This process did its work just now."""
    path = heartbeat_path(role, os.getpid())
    try:
        path.touch()
    except OSError:  # a read-only /tmp: the health check then says so, the work goes on
        pass


def age(role: str, pid: int) -> float | None:
    """Seconds since the process last beat, or None if it never did."""
    try:
        return time.time() - heartbeat_path(role, pid).stat().st_mtime
    except FileNotFoundError:
        return None

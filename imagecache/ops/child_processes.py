"""How `imagecache up` starts its parts: each in a process group of its own, so Ctrl-C at a terminal reaches the
supervisor alone and it stops them in order; and each dies with the supervisor, should that be killed outright."""

from __future__ import annotations

import ctypes
import fcntl
import signal
import subprocess
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

READY_WITHIN = 30.0  # seconds the web has to answer before `up` stops waiting to say it is ready

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def start_child(command: Sequence[str], **options: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, preexec_fn=_die_with_parent, process_group=0, **options)


class DataDirLock:
    """One `imagecache up` a data folder: a second one (another port, the same folder) would share its embedded
    Redis's files. Held by an advisory lock on a file in it, which the kernel drops with the process."""

    def __init__(self, folder: Path) -> None:
        self._path = folder / ".up.lock"
        self._file: IO[str] | None = None

    def __enter__(self) -> bool:
        self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._file = open(self._path, "w")  # noqa: SIM115  (held for the supervisor's life)
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self._file is not None:
            self._file.close()


def wait_until_answering(url: str, web: subprocess.Popen[bytes]) -> bool:
    """Whether the web answered /health/live within READY_WITHIN seconds (False at once if it exited)."""
    deadline = time.monotonic() + READY_WITHIN
    while time.monotonic() < deadline and web.poll() is None:
        try:
            with urllib.request.urlopen(url + "/health/live", timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False

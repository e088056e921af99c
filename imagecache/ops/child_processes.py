"""How `imagecache up` starts its parts: each in a process group of its own, so Ctrl-C at a terminal reaches the
supervisor alone and it stops them in order; and each dies with the supervisor, should that be killed outright."""

from __future__ import annotations

import ctypes
import signal
import subprocess
from collections.abc import Sequence
from typing import Any

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def start_child(command: Sequence[str], **options: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, preexec_fn=_die_with_parent, process_group=0, **options)

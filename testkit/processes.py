"""Real processes for integration tests: started once, always cleaned up."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


def http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code < 500
    except httpx.HTTPError:
        return False


def spawn(command: list[str | Path], env: Mapping[str, str], log: IO[bytes], cwd: Path) -> subprocess.Popen[bytes]:
    """`command` in a process group of its own (stopped as one), its output into `log`; `env` is all it sees."""
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


class Process:
    """One `imagecache ...` process in its own process group, logging to a file; run from `tree`, a checkout of
    imagecache (this one unless given: bench/versus_tree.py runs an earlier commit's beside it)."""

    def __init__(self, args: list[str], env: Mapping[str, str], log_path: Path, tree: Path = ROOT) -> None:
        self.args = args
        self.log_path = log_path
        self._log = open(log_path, "ab")
        command: list[str | Path] = [sys.executable, "-m", "imagecache.cli", *args]
        where = {"PYTHONPATH": str(tree)} if tree != ROOT else {}
        self.popen = spawn(command, {**os.environ, **env, **where}, self._log, tree)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, signum: int) -> None:
        if self.alive():
            os.killpg(self.popen.pid, signum)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then SIGKILL the whole group if it does not go."""
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            if self.args[0] in ("worker", "maintenance"):  # they dump every thread's stack on SIGUSR1
                os.kill(self.popen.pid, signal.SIGUSR1)
                time.sleep(1)
            self.kill()
            tail = self.log()[-6000:]
            said = f"imagecache {' '.join(self.args)} ignored SIGTERM for {timeout} s; its log ends:\n{tail}"
            warnings.warn(said, stacklevel=2)
        self._log.close()
        return self.popen.returncode

    def kill(self) -> None:
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

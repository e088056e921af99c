"""Supervisor: `imagecache up` runs web, worker and maintenance together.

Each part is its own process (as in a container deployment); the supervisor
starts them, stops all of them cleanly on SIGTERM/Ctrl-C, and stops the
rest if one dies, so a broken stack never half-runs.
"""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from imagecache.config import Config
from imagecache.ops.embedded_redis import EmbeddedRedis, redis_answers

log = logging.getLogger(__name__)

STOP_TIMEOUT = 60.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Children must not outlive a supervisor that was killed outright."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class Supervisor:
    def __init__(self, config: Config, host: str, port: int, data_dir: Path) -> None:
        self._config = config
        self._parts = {
            "web": ["web", "--host", host, "--port", str(port)],
            "worker": ["worker"],
            "maintenance": ["maintenance"],
            **({"callbacks": ["callbacks"]} if config.callback_targets.enabled else {}),
        }
        self._data_dir = data_dir
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._redis: EmbeddedRedis | None = None
        self._stopping = False

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        self._ensure_redis()
        for name, args in self._parts.items():
            self._children[name] = subprocess.Popen(
                [sys.executable, "-m", "imagecache.cli", *args], preexec_fn=_die_with_parent
            )
        log.info("up: %s", ", ".join(f"{n} (pid {p.pid})" for n, p in self._children.items()))
        code = self._watch()
        self._stop_all()
        return code

    def _ensure_redis(self) -> None:
        url = self._config.redis_url
        if self._config.sentinel_addresses or redis_answers(url):  # the Sentinels' primary is never ours to start
            return
        log.info("up: nothing answers at REDIS_URL, starting an embedded Redis (data in %s)", self._data_dir)
        self._redis = EmbeddedRedis(url, self._data_dir / "redis")
        self._redis.start()

    def _watch(self) -> int:
        while not self._stopping:
            for name, child in self._children.items():
                if child.poll() is not None:
                    log.error("up: %s exited with %s, stopping the stack", name, child.returncode)
                    return 1
            time.sleep(0.2)
        return 0

    def _request_stop(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def _stop_all(self) -> None:
        for child in self._children.values():
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in self._children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if self._redis:
            self._redis.stop()
        log.info("up: stopped")

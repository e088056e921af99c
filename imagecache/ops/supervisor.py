"""Supervisor: `imagecache up` runs web, worker and maintenance together.

Each part is its own process (as in a container deployment) in a process
group of its own, so Ctrl-C at a terminal reaches the supervisor alone; it
stops the parts in order (what serves and works first, while Redis is still
there to save their work; then maintenance; then an embedded Redis) within
STOP_WITHIN seconds, and stops the rest if one dies, so a broken stack never
half-runs.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from imagecache.config import Config
from imagecache.ops.child_processes import DataDirLock, start_child, wait_until_answering
from imagecache.ops.embedded_redis import EmbeddedRedis, redis_answers
from imagecache.ops.startup_report import startup_lines

log = logging.getLogger(__name__)

STOP_WITHIN = 10.0  # seconds from Ctrl-C or SIGTERM to every part stopped; a part still running then is killed
REDIS_STOP = 2.0  # of which an embedded Redis gets the last ones, to save what the parts wrote
STOP_ORDER = (("web", "callbacks", "worker"), ("maintenance",))


class Supervisor:
    def __init__(self, config: Config, host: str, port: int, data_dir: Path) -> None:
        self._config = config
        self._url = f"http://{host}:{port}"
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
        with DataDirLock(self._data_dir) as held:
            if not held:
                print(
                    f"imagecache: {self._data_dir} is in use by another `imagecache up`; give --data-dir",
                    file=sys.stderr,
                )
                return 2
            return self._run()

    def _run(self) -> int:
        self._ensure_redis()
        for line in startup_lines(self._config, self._url, embedded=self._redis is not None):
            log.info("up: %s", line)
        for name, args in self._parts.items():
            self._children[name] = start_child([sys.executable, "-m", "imagecache.cli", *args])
        log.info("up: %s", ", ".join(f"{n} (pid {p.pid})" for n, p in self._children.items()))
        if wait_until_answering(self._url, self._children["web"]):
            log.info("up: ready at %s", self._url)
        code = self._watch()
        self._stop_all()
        return code

    def _ensure_redis(self) -> None:
        url = self._config.redis_url
        if self._config.sentinel_addresses or redis_answers(url):  # the Sentinels' primary is never ours to start
            return
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
        if not self._stopping:
            log.info("up: stopping (%s)", signal.Signals(signum).name)
        self._stopping = True

    def _stop_all(self) -> None:
        deadline = time.monotonic() + STOP_WITHIN - (REDIS_STOP if self._redis else 0)
        for group in STOP_ORDER:
            stopping = [self._children[name] for name in group if name in self._children]
            for child in stopping:
                if child.poll() is None:
                    child.terminate()
            for child in stopping:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    log.warning("up: pid %d did not stop in time; killed (its jobs are recovered)", child.pid)
                    child.kill()
                    child.wait()
        if self._redis:
            self._redis.stop(REDIS_STOP)
        log.info("up: stopped")

"""A running imagecache stack (web, worker, maintenance) for integration tests."""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

import httpx

from testkit.processes import ROOT, Process, free_port, http_ok, wait_until


class Stack:
    def __init__(self, env: dict[str, str], workdir: Path, tree: Path = ROOT) -> None:
        """`tree`: the checkout of imagecache its processes run from (this one unless given)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "REDIS_PREFIX": f"t{uuid.uuid4().hex[:8]}:",
            "CACHE_PATH": str(workdir / "cache"),
            "CACHE_MAINTENANCE_PERIOD": "1",
            "WEB_WORKERS": "1",
            "WORKER_CONCURRENCY": "4",
            **env,
        }
        self.workdir = workdir
        self.tree = tree
        self.parts: dict[str, Process] = {}

    def start(self, *parts: str) -> Stack:
        for part in parts or ("web", "worker", "maintenance"):
            self.start_part(part)
        return self

    def start_part(self, part: str, **env: str) -> Process:
        """Start one part; `env` adds to the stack's environment for it alone."""
        if part == "web":
            return self._web(self.port, "web", env)
        log = self.workdir / f"{part}-{uuid.uuid4().hex[:6]}.log"
        process = Process([part], {**self.env, **env}, log, self.tree)
        self.parts[part] = process
        ready = {"worker": "slots on queue", "maintenance": "maintenance: every", "callbacks": "delivering"}.get(part)
        if ready:
            wait_until(lambda: ready in process.log() or not process.alive(), 30, f"{part} to start")
        return process

    def start_web(self) -> str:
        """Another web process of this stack (a second host's, in effect), on a port of its own; its URL."""
        port = free_port()
        self._web(port, f"web-{port}", {})
        return f"http://127.0.0.1:{port}"

    def _web(self, port: int, name: str, env: dict[str, str]) -> Process:
        args = ["web", "--host", "127.0.0.1", "--port", str(port)]
        process = Process(args, {**self.env, **env}, self.workdir / f"{name}-{uuid.uuid4().hex[:6]}.log", self.tree)
        self.parts[name] = process
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: http_ok(url + "/health/live") or not process.alive(), 30, "web to answer")
        assert process.alive(), process.log()
        return process

    def terminate(self) -> None:
        """SIGTERM every part; stop() waits for them (stacks told first shut down side by side)."""
        for process in self.parts.values():
            process.signal(signal.SIGTERM)

    def stop(self) -> None:
        """SIGTERM every part at once, then wait for each (a part that does not go in 30 s is killed)."""
        self.terminate()
        for process in self.parts.values():
            process.stop()

    def kill(self) -> None:
        """SIGKILL every part at once, as a crashed host would."""
        for process in self.parts.values():
            process.kill()

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=kwargs.pop("timeout", 30), **kwargs)

    def info(self) -> dict:
        return httpx.get(self.url + "/info", timeout=10).json()

    def request(self, query: dict, **fields: object) -> dict:
        response = httpx.post(self.url + "/requests", json={"api_query": query, **fields}, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

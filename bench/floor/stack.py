"""The floor started for a bench: gunicorn with one of its two web tiers, the worker, a stand-in upstream of its
own; everything stopped and removed after."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from redis import Redis

from testkit.processes import ROOT, free_port, http_ok, spawn, wait_until
from testkit.upstream import start_simulator

WEB_TIERS = {
    "gevent": ["-k", "gevent", "--worker-connections", "1000", "bench.floor.wsgi:create()"],
    "asgi": ["-k", "uvicorn_worker.UvicornWorker", "bench.floor.asgi:create()"],
}
WEB_WORKERS = 2  # imagecache's default


@dataclass(frozen=True)
class Floor:
    url: str
    simulator: str
    groups: dict[str, int]  # the process groups whose CPU is the floor's, by part (Redis's is counted apart)


@contextmanager
def floor_stack(web: str, redis_url: str) -> Iterator[Floor]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-floor-"))
    (workdir / "results").mkdir()
    Redis.from_url(redis_url).flushdb()
    simulator, sim_url = start_simulator(workdir / "simulator.log")
    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "CACHE_PATH": str(workdir / "results"), "KENTIK_API_URL": sim_url}
    bind = ["--bind", f"127.0.0.1:{port}", "--workers", str(WEB_WORKERS)]
    with open(workdir / "floor.log", "ab") as log:
        processes = {
            "web": spawn([sys.executable, "-m", "gunicorn", *bind, *WEB_TIERS[web]], env, log, ROOT),
            "worker": spawn([sys.executable, "-m", "bench.floor.worker"], env, log, ROOT),
        }
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_ok(url + "/image/none"), 30, f"the floor's {web} web tier")
        yield Floor(url, sim_url, {part: process.pid for part, process in processes.items()})
    finally:
        for process in processes.values():
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(10)
        simulator.stop()
        Redis.from_url(redis_url).flushdb()
        shutil.rmtree(workdir, ignore_errors=True)

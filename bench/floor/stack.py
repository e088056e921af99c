"""The floor started for a bench: gunicorn with one of its two web tiers, the worker, a stand-in upstream of its
own; everything stopped and removed after."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from redis import Redis

from bench.floor.shape import Keys
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
def floor_stack(web: str, redis_url: str, threads: int) -> Iterator[Floor]:
    """Ready once every web process listens for settled entries; a start that fails says why (its log's tail)."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-floor-"))
    (workdir / "results").mkdir()
    redis = Redis.from_url(redis_url)
    redis.flushdb()
    env = {**os.environ, "REDIS_URL": redis_url, "CACHE_PATH": str(workdir / "results"), "THREADS": str(threads)}
    bind = ["--bind", f"127.0.0.1:{free_port()}", "--workers", str(WEB_WORKERS)]
    with ExitStack() as running, open(workdir / "floor.log", "ab") as log:
        running.callback(shutil.rmtree, workdir, ignore_errors=True)
        running.callback(redis.flushdb)
        simulator, env["KENTIK_API_URL"] = start_simulator(workdir / "simulator.log")
        running.callback(simulator.stop)
        groups = {}
        for part, command in (
            ("web", ["-m", "gunicorn", *bind, *WEB_TIERS[web]]),
            ("worker", ["-m", "bench.floor.worker"]),
        ):
            process = spawn([sys.executable, *command], env, log, ROOT)
            running.callback(_stop, process)
            groups[part] = process.pid
        url = "http://" + bind[1]
        try:
            wait_until(lambda: _listening(url, redis), 30, f"the floor's {web} web tier")
        except TimeoutError:
            raise TimeoutError((workdir / "floor.log").read_text()[-2000:]) from None
        yield Floor(url, env["KENTIK_API_URL"], groups)


def _listening(url: str, redis: Redis) -> bool:
    subscribed = dict(redis.pubsub_numsub(Keys.settled)).get(Keys.settled.encode(), 0)
    return http_ok(url + "/image/none") and subscribed >= WEB_WORKERS


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Its whole process group: gunicorn's workers, the worker's threads; killed if it will not stop in time."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    except ProcessLookupError:
        pass

"""What every benchmark needs: its own Redis database, the simulator and a stack.

Figures are printed, never asserted: compare them with the aims in docs/explanation/benchmarks.md. A stack keeps
its files (CACHE_PATH among them) in a new folder under TMPDIR: point TMPDIR at the kind of volume the cache would
run on, and read `file_floor`'s figure beside the CPU figures (on some disks a new file costs more than a result's
every other step).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from redis import Redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from imagecache.auth.static_tokens import StaticTokens
from testkit.stack import Stack  # noqa: E402
from testkit.upstream import kentik_env, start_simulator  # noqa: E402

REDIS_URL = os.environ.get("IMAGECACHE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
UPSTREAM_AUTH = {"X-CH-Auth-Email": "bench@example.com", "X-CH-Auth-API-Token": "bench"}  # the simulator wants both


@dataclass
class Bench:
    stack: Stack
    simulator: str
    workdir: Path
    token: str  # a static /v1 token for the stack


@contextmanager
def environment(**env: str) -> Iterator[Bench]:
    """A fresh stack against the simulator; everything is stopped and removed after."""
    workdir = Path(tempfile.mkdtemp(prefix="imagecache-bench-"))
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    simulator, url = start_simulator(workdir / "simulator.log")
    token = StaticTokens(workdir / "tokens").add("bench")
    auth = {"AUTH_MODE": "static", "AUTH_TOKENS_FILE": str(workdir / "tokens")}
    stack = Stack({**kentik_env(REDIS_URL, url), **auth, "WEB_WORKERS": "2", **env}, workdir)
    try:
        stack.start()
        yield Bench(stack, url, workdir, token)
    finally:
        stack.stop()
        simulator.stop()
        redis.flushdb()
        shutil.rmtree(workdir, ignore_errors=True)


def bare_put(folder: Path, name: str, data: bytes, metadata: bytes) -> None:
    """What a result's put is at the least, in bare system calls: a new file written, its metadata set as an
    attribute, renamed into place."""
    tmp = folder / f"{name}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, data)
    os.setxattr(fd, "user.floor", metadata)
    os.close(fd)
    os.rename(tmp, folder / name)


def new_file_cpu_us(parent: str | None = None, count: int = 1000) -> float:
    """The CPU (µs) a result's file costs where stacks keep their files (TMPDIR; or `parent`): create, write 28 KB,
    set a small attribute, rename, as the filesystem store does. On ext4 without a journal, creating a file where
    many were deleted in the last minutes (a test run, an earlier round) scans past each of them (the kernel's
    `recently_deleted`): ten times the cost, and it moves from minute to minute."""
    data = bytes(28_000)
    folder = Path(tempfile.mkdtemp(prefix="imagecache-floor-", dir=parent))
    try:
        before = os.times()
        for n in range(count):
            bare_put(folder, f"r{n}", data, b"{}")
        after = os.times()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return (after.user + after.system - before.user - before.system) * 1e6 / count


def file_floor() -> None:
    """Print what a result's new file costs where stacks keep theirs, and in tmpfs (the machine's floor)."""
    figure("a result's new file where stacks keep theirs", f"{new_file_cpu_us():.0f} us CPU")
    if os.path.isdir("/dev/shm"):
        figure("  the same in tmpfs", f"{new_file_cpu_us('/dev/shm'):.0f} us CPU")


def probe_health(url: str, count: int, pause: float = 0.0) -> list[float]:
    """Milliseconds each of `count` sequential GET /health took (each must answer 200)."""
    with httpx.Client(timeout=60) as client:
        latencies = []
        for _ in range(count):
            started = time.perf_counter()
            assert client.get(url + "/health").status_code == 200
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(pause)
    return latencies


def ratio(mine: float, theirs: float) -> str:
    """`mine` over `theirs`, as the benches print it; "-" where theirs did no such work at all."""
    return f"{mine / theirs:.2f}x" if theirs else "-"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def describe(values_ms: list[float]) -> str:
    return (
        f"p50 {percentile(values_ms, 50):.1f} ms, p99 {percentile(values_ms, 99):.1f} ms, "
        f"mean {statistics.fmean(values_ms):.1f} ms (n={len(values_ms)})"
    )


def figure(name: str, value: str) -> None:
    print(f"{name:<46} {value}", flush=True)

"""imagecache and the Kentik Image Cache side by side: the same workloads, rounds alternating, in one run.

The peer runs from its git repository (https://github.com/kentik/kentik_image_cache): set KENTIK_IMAGE_CACHE to
a checkout whose `venv/` holds its requirements (or KENTIK_IMAGE_CACHE_PYTHON to the Python to run it with).
Both ask the same stand-in upstream; ratios hold for this run only, so no peer figure is kept anywhere. imagecache's
floor (bench/floor: the least its shape of web tier, Redis and worker process does) runs the fresh-result
workloads beside them, with the gevent web tier imagecache runs and with an ASGI one: what imagecache costs beyond
its floor is its own (its code, and the promises the floor does not keep), what the floor costs beyond the peer is
the shape's.

    KENTIK_IMAGE_CACHE=/path/to/kentik_image_cache .venv/bin/python -m bench.versus_kentik [rounds]
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from redis import Redis

from bench.burst import QUERIES as BURST
from bench.burst import fetch_all
from bench.cached_get import nginx_load, wrk
from bench.floor.stack import WEB_TIERS, floor_stack
from bench.fresh_results import group_cpu_seconds, redis_cpu_seconds
from bench.harness import REDIS_URL, UPSTREAM_AUTH, environment, figure, new_file_cpu_us, percentile, ratio
from testkit.processes import free_port, http_ok, spawn, wait_until
from testkit.upstream import kentik_env, make_query, simulate, start_simulator, upstream_stats

FRESH, FRESH_CLIENTS = 300, 16
OVERHEAD_MS, OVERHEAD_SAMPLES = 300, 30
BURST_MS = 1000
IDENTICAL = 20
IMAGE_SIZE = 64 * 1024
SLOTS = 64  # imagecache's worker slots and upstream cap: the peer has no cap at all
OURS, PEER = "imagecache", "Kentik Image Cache"
FLOORS = {web: f"its floor, {web} web tier" for web in WEB_TIERS}


@dataclass
class Target:
    """One cache under test: where it answers, its process groups by part, and whether Redis works for it."""

    name: str
    url: str
    simulator: str
    groups: dict[str, int]
    uses_redis: bool

    def cpu_seconds(self, redis: Redis) -> dict[str, float]:
        """Each part's CPU so far: its process group's, and Redis's where it uses Redis."""
        parts = {part: group_cpu_seconds(pgid) for part, pgid in self.groups.items()}
        return parts | ({"Redis": redis_cpu_seconds(redis)} if self.uses_redis else {})


@contextmanager
def imagecache() -> Iterator[Target]:
    # Both log at INFO; maintenance runs at its production period, not the test stacks' second: the floor has none.
    env = {"WORKER_CONCURRENCY": str(SLOTS), "UPSTREAM_MAX_CONCURRENCY": str(SLOTS), "CACHE_MAINTENANCE_PERIOD": "60"}
    with environment(**env) as bench:
        groups = {part: process.pid for part, process in bench.stack.parts.items()}
        yield Target(OURS, bench.stack.url, bench.simulator, groups, uses_redis=True)


def floor(web: str) -> Callable[[], AbstractContextManager[Target]]:
    @contextmanager
    def start() -> Iterator[Target]:
        with floor_stack(web, REDIS_URL, threads=SLOTS) as stack:
            yield Target(FLOORS[web], stack.url, stack.simulator, stack.groups, uses_redis=True)

    return start


@contextmanager
def kentik_image_cache(checkout: Path, python: str) -> Iterator[Target]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-kentik-"))
    simulator, sim_url = start_simulator(workdir / "simulator.log")
    port = free_port()
    env = {
        **os.environ,
        **kentik_env(REDIS_URL, sim_url + "/api/v5"),
        "CACHE_PATH": str(workdir / "cache"),
        "PYTHONPATH": str(checkout),
    }
    (workdir / "cache").mkdir()
    with open(workdir / "peer.log", "ab") as log:
        peer = spawn(
            [python, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)], env, log, checkout
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_ok(url + "/info"), 30, "the Kentik Image Cache")
        yield Target(PEER, url, sim_url, {"its process": peer.pid}, uses_redis=False)
    finally:
        peer.terminate()
        peer.wait(10)
        simulator.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def produce(url: str, client: httpx.Client) -> int:
    """POST a new query and GET its image, as a service calling a cache does."""
    entry_id = client.post(url + "/requests", json={"api_query": make_query()}).json()["id"]
    return client.get(f"{url}/image/{entry_id}").status_code


def fresh_results(target: Target, redis: Redis) -> dict[str, float]:
    """CPU of every server process (and Redis, where the stack uses it) per fresh result, in all and by part, and
    results per second."""
    simulate(target.simulator, latency_ms=0)
    clients = [httpx.Client(timeout=60) for _ in range(FRESH_CLIENTS)]
    produce(target.url, clients[0])  # warm: connections, the first render
    before = target.cpu_seconds(redis)
    started = time.perf_counter()
    with ThreadPoolExecutor(FRESH_CLIENTS) as pool:
        statuses = list(pool.map(lambda n: produce(target.url, clients[n % FRESH_CLIENTS]), range(FRESH)))
    wall = time.perf_counter() - started
    parts = {part: (cpu - before[part]) * 1000 / FRESH for part, cpu in target.cpu_seconds(redis).items()}
    for client in clients:
        client.close()
    assert statuses.count(200) == FRESH, statuses
    by_part = {f"CPU ms per fresh result: {part}": cpu for part, cpu in parts.items() if len(parts) > 1}
    return {"CPU ms per fresh result": sum(parts.values()), **by_part, "fresh results/s": FRESH / wall}


def overhead(target: Target, redis: Redis) -> dict[str, float]:
    """POST to image, sequential, beyond a direct upstream call (both at 300 ms), p50."""
    simulate(target.simulator, latency_ms=OVERHEAD_MS)
    with httpx.Client(timeout=30) as client:

        def direct() -> None:
            chart = target.simulator + "/query/topxchart"
            client.post(chart, json=make_query(), headers=UPSTREAM_AUTH).raise_for_status()

        def cached() -> None:
            assert produce(target.url, client) == 200

        for _ in range(3):
            direct()
            cached()
        directly = [_timed(direct) for _ in range(OVERHEAD_SAMPLES)]
        through = [_timed(cached) for _ in range(OVERHEAD_SAMPLES)]
    return {"overhead p50 ms": percentile(through, 50) - percentile(directly, 50)}


def _timed(call: Callable[[], None]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def burst(target: Target, redis: Redis) -> dict[str, float]:
    """200 new queries at once, upstream at 1 s: wall time until every image is in."""
    simulate(target.simulator, latency_ms=BURST_MS)

    started = time.perf_counter()
    statuses = asyncio.run(fetch_all(target.url))
    assert statuses.count(200) == BURST, statuses
    return {"200 at once, upstream 1 s: s": time.perf_counter() - started}


def cached_get(target: Target, redis: Redis) -> dict[str, float]:
    """wrk -c16 on one cached 64 KiB image."""
    simulate(target.simulator, pad_to=IMAGE_SIZE)
    with httpx.Client(timeout=30) as client:
        entry_id = client.post(target.url + "/requests", json={"api_query": make_query()}).json()["id"]
        assert len(client.get(f"{target.url}/image/{entry_id}").content) == IMAGE_SIZE
    load = wrk(f"{target.url}/image/{entry_id}")
    return {"cached GET 64 KiB req/s": load.rps, "cached GET p99 ms": load.p99_ms}


def identical(target: Target, redis: Redis) -> dict[str, float]:
    """20 identical queries at once: upstream calls made."""
    simulate(target.simulator, latency_ms=OVERHEAD_MS)
    query = make_query()
    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(IDENTICAL) as pool:
        ids = list(pool.map(lambda _: client.post(target.url + "/requests", json={"api_query": query}), range(20)))
        assert client.get(f"{target.url}/image/{ids[0].json()['id']}").status_code == 200
    return {"identical queries at once: upstream calls": float(upstream_stats(target.simulator)["calls"])}


def new_file(target: Target, redis: Redis) -> dict[str, float]:
    """What a result's file costs the kernel where the stacks keep theirs, as this round starts: the same volume
    for both, but not the same from minute to minute (bench/harness.py)."""
    return {"a result's new file where stacks keep theirs, us CPU": new_file_cpu_us()}


Workload = Callable[[Target, Redis], dict[str, float]]
WORKLOADS: tuple[Workload, ...] = (new_file, fresh_results, overhead, burst, cached_get, identical)
# The floor has no retries, caps or limits: the other workloads would not compare.
FLOOR_WORKLOADS: tuple[Workload, ...] = (fresh_results, overhead)


def report(figures: dict[str, dict[str, list[float]]], nginx_rps: float) -> None:
    """Each figure: every stack's span and its ratio to the peer's median; imagecache's to its gevent floor's."""
    medians = {
        stack: {name: statistics.median(values) for name, values in found.items()} for stack, found in figures.items()
    }
    for name in dict.fromkeys(name for found in figures.values() for name in found):
        figure(name, "min-max, median | ratio of medians to the peer's (below 1: smaller)")
        for stack, found in figures.items():
            if name in found:
                against = ratio(medians[stack][name], medians[PEER][name]) if name in medians[PEER] else "-"
                figure(f"  {stack}", f"{_span(found[name])} | {against}")
        ours_floor = medians.get(FLOORS["gevent"], {}).get(name)
        if ours_floor:
            figure(f"  {OURS} against its floor (gevent)", ratio(medians[OURS][name], ours_floor))
    figure("cached GET against nginx, the same file", f"{medians[OURS]['cached GET 64 KiB req/s'] / nginx_rps:.2f}")


def _span(values: list[float]) -> str:
    """min-max, median: the median is what the ratio and docs/explanation/figures.json take."""
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{min(values):.1f}-{max(values):.1f}, {statistics.median(values):.1f}"


def main() -> None:
    checkout = os.environ.get("KENTIK_IMAGE_CACHE")
    if not checkout or not (Path(checkout) / "app" / "main.py").exists():
        print(
            "versus_kentik: skipped: set KENTIK_IMAGE_CACHE to a checkout of github.com/kentik/kentik_image_cache\n"
            "  with its requirements in <checkout>/venv (or KENTIK_IMAGE_CACHE_PYTHON); see docs/explanation/"
            "benchmarks.md"
        )
        return
    python = os.environ.get("KENTIK_IMAGE_CACHE_PYTHON", str(Path(checkout) / "venv" / "bin" / "python"))
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    redis = Redis.from_url(REDIS_URL)
    stacks: list[tuple[Callable[[], AbstractContextManager[Target]], tuple[Workload, ...]]] = [
        (imagecache, WORKLOADS),
        *((floor(web), FLOOR_WORKLOADS) for web in WEB_TIERS),
        (lambda: kentik_image_cache(Path(checkout), python), WORKLOADS),
    ]
    figures: dict[str, dict[str, list[float]]] = {}
    for number in range(rounds):
        # Each round starts with the next stack: one's teardown frees the files whose inodes the next one's new files
        # check (bench/harness.py), so no stack always follows the same one.
        for start, workloads in stacks[number % len(stacks) :] + stacks[: number % len(stacks)]:
            with start() as target:
                for workload in workloads:
                    for name, value in workload(target, redis).items():
                        figures.setdefault(target.name, {}).setdefault(name, []).append(value)
            print(f"round {number + 1}/{rounds}: {target.name} measured", flush=True)
    nginx = nginx_load(b"\x89PNG" + bytes(IMAGE_SIZE - 4))
    report(figures, nginx.rps)


if __name__ == "__main__":
    main()

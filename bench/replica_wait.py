"""What waiting for a replica costs: the stack on a Sentinel-watched primary and replica (loopback), the same
requests with REDIS_WAIT_REPLICAS=1 (the default with Sentinel) and with 0 (the reference, in the same run).

Timed, one client in sequence over keep-alive: POST /requests for new queries (each creates an entry and
enqueues its job: one WAIT), and 64 KiB /v1 uploads (a placeholder, then the file: three WAITs in all, one for
the placeholder, one for the new blob's mark as garbage, one for its index write). Twice: with the worker
stopped (what replication itself costs), and with the worker producing every entry on the same two cores, where
the replica must wait for a core before it can acknowledge (what sharing a machine with it costs).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import httpx

from bench.harness import Bench, describe, environment, figure, percentile
from testkit.sentinel import MASTER, SentinelGroup
from testkit.upstream import make_query, simulate

COUNT, WARMUP = 400, 30


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


class Requests:
    """A new query's POST and a 64 KiB upload against one stack, over one keep-alive connection."""

    def __init__(self, bench: Bench) -> None:
        self.client = httpx.Client(base_url=bench.stack.url, timeout=30, headers={"Authorization": bench.token})

    def post(self) -> None:
        self.client.post("/requests", json={"api_query": make_query()}).raise_for_status()

    def upload(self) -> None:
        cache_id = self.client.post("/v1/cache_id", json={"n": os.urandom(8).hex()}).json()["cache_id"]
        body = {"file": ("part.bin", os.urandom(64 * 1024), "application/octet-stream")}
        self.client.post(f"/v1/cache/{cache_id}", files=body).raise_for_status()


def stack_waiting_for(group: SentinelGroup, replicas: int) -> AbstractContextManager[Bench]:
    env = {"REDIS_SENTINELS": group.sentinels, "REDIS_SENTINEL_MASTER": MASTER, "REDIS_WAIT_REPLICAS": str(replicas)}
    return environment(REDIS_URL="redis://named-by-sentinel/0", **env)


def measure(group: SentinelGroup, producing: bool) -> dict[str, tuple[list[float], list[float]]]:
    """For each of 'no WAIT' and 'WAIT 1': (POST ms, upload ms). Both stacks run at once and take turns, request
    by request, so both see the same machine."""
    with stack_waiting_for(group, 0) as without, stack_waiting_for(group, 1) as waiting:
        stacks = {"no WAIT (reference)": without, "WAIT 1": waiting}
        for bench in stacks.values():
            simulate(bench.simulator, latency_ms=0)
            if not producing:
                bench.stack.parts["worker"].stop()
        requests = {name: Requests(bench) for name, bench in stacks.items()}
        for each in requests.values():
            for _ in range(WARMUP):
                each.post()
                each.upload()
        times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in stacks}
        for _ in range(COUNT):
            for name, each in requests.items():
                times[name][0].append(timed(each.post))
                times[name][1].append(timed(each.upload))
        for each in requests.values():
            each.client.close()
        return times


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        group = SentinelGroup(Path(tmp)).start()
        try:
            for producing in (False, True):
                report("worker producing" if producing else "worker stopped", group, producing)
        finally:
            group.stop()


def report(setting: str, group: SentinelGroup, producing: bool) -> None:
    times = measure(group, producing)
    (posts_off, uploads_off), (posts_on, uploads_on) = times["no WAIT (reference)"], times["WAIT 1"]
    for name, off, on in (("POST /requests", posts_off, posts_on), ("64 KiB upload", uploads_off, uploads_on)):
        figure(f"{name}, {setting}, no WAIT (reference)", describe(off))
        figure(f"{name}, {setting}, WAIT 1", describe(on))
        added = percentile(on, 50) - percentile(off, 50)
        figure("  WAIT adds", f"{added:.2f} ms at p50 ({percentile(on, 50) / percentile(off, 50):.2f} x)")


if __name__ == "__main__":
    main()

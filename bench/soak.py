"""A bounded soak: 100 clients of mixed traffic (POST+GET images, /info, /v1 files) on loopback.

Prints errors (aim 0), p99 latency per kind of call, and each server process's RSS after
warm-up and at the end (aim: growth < 10%). `python -m bench.soak --seconds 300`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections import defaultdict

import aiohttp

from bench.files_big import rss_bytes, server_pids
from bench.harness import environment, figure, percentile
from testkit.upstream import make_query, simulate

CLIENTS, QUERIES = 100, 300


class Soak:
    def __init__(self, url: str, token: str, seconds: float) -> None:
        self.url, self.auth, self.seconds = url, {"Authorization": token}, seconds
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.queries = [make_query(random.choice(["png", "svg", "jpg"])) for _ in range(QUERIES)]

    async def timed(self, kind: str, call) -> None:
        started = time.perf_counter()
        try:
            ok = await call()
        except aiohttp.ClientError:
            ok = False
        self.latencies[kind].append((time.perf_counter() - started) * 1000)
        if not ok:
            self.errors[kind] += 1

    async def image(self, session: aiohttp.ClientSession) -> bool:
        async with session.post(self.url + "/requests", json={"api_query": random.choice(self.queries)}) as r:
            entry_id = (await r.json())["id"]
        async with session.get(f"{self.url}/image/{entry_id}") as r:
            await r.read()
            return r.status == 200

    async def info(self, session: aiohttp.ClientSession) -> bool:
        async with session.get(self.url + "/info?limit=20") as r:
            await r.read()
            return r.status == 200

    async def file(self, session: aiohttp.ClientSession) -> bool:
        params = {"n": random.randrange(QUERIES)}
        async with session.post(self.url + "/v1/cache_id", json=params, headers=self.auth) as r:
            cache_id = (await r.json())["cache_id"]
        form = aiohttp.FormData()
        form.add_field("file", random.randbytes(4096), filename="r.bin")
        async with session.post(f"{self.url}/v1/cache/{cache_id}", data=form, headers=self.auth) as r:
            await r.read()
        async with session.get(f"{self.url}/v1/cache/{cache_id}", headers=self.auth) as r:
            body = await r.read()
            return r.status == 200 and len(body) == 4096

    async def client(self, session: aiohttp.ClientSession, deadline: float) -> None:
        kinds = [("image", self.image)] * 6 + [("info", self.info)] + [("file", self.file)] * 3
        while time.monotonic() < deadline:
            kind, call = random.choice(kinds)
            await self.timed(kind, lambda call=call: call(session))

    async def run(self) -> None:
        deadline = time.monotonic() + self.seconds
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            await asyncio.gather(*(self.client(session, deadline) for _ in range(CLIENTS)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=300)
    args = parser.parse_args()
    with environment(WORKER_CONCURRENCY="32", UPSTREAM_MAX_CONCURRENCY="32") as bench:
        simulate(bench.simulator, latency_ms=50)
        soak = Soak(bench.stack.url, bench.token, args.seconds)
        pids = {pid: name for name, process in bench.stack.parts.items() for pid in server_pids([process.pid])}
        asyncio.run(Soak(bench.stack.url, bench.token, min(30.0, args.seconds / 5)).run())  # warm-up
        after_warm_up = {pid: rss_bytes([pid]) for pid in pids}
        asyncio.run(soak.run())
        at_end = {pid: rss_bytes([pid]) for pid in pids}
    calls = sum(len(values) for values in soak.latencies.values())
    figure(f"soak: {CLIENTS} clients, {args.seconds:.0f} s, {calls} calls", f"{sum(soak.errors.values())} errors")
    for kind, values in sorted(soak.latencies.items()):
        figure(
            f"  {kind}",
            f"p50 {percentile(values, 50):.1f} ms, p99 {percentile(values, 99):.1f} ms, {soak.errors[kind]} errors",
        )
    for pid, before in after_warm_up.items():
        if before:
            figure(
                f"  RSS {pids[pid]} (pid {pid})",
                f"{before / 2**20:.1f} -> {at_end[pid] / 2**20:.1f} MiB "
                f"({100 * (at_end[pid] - before) / before:+.1f}%)",
            )


if __name__ == "__main__":
    main()

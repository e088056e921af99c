"""The client's local cache against the server it saves a trip to, all measured in one run.

- a local hit (`fetch(query)`, `fetch(cache_id)` within a day) vs a keep-alive GET of the same
  bytes from the server: the local cache must be the faster way to a result;
- 1,000 `fetch` calls of cached results at once from one event loop (AsyncImageCacheClient) vs the same
  1,000 GETs of the server at once, and vs the sync client's 1,000 in a row;
- revalidating a /v1 file (a 304) vs downloading it again (a 200), 1 MiB;
- `prefill` of 200 new queries with the simulator at 1 s vs the floor the server allows
  (ceil(200 / WORKER_CONCURRENCY) times the simulator's latency), then the same list again (all hits);
- a 256 MiB file through the client (upload, download into the local cache, copy to a
  destination): MB/s and the client's own peak RSS growth (nothing big may sit in memory).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import httpx

from bench.harness import describe, environment, figure, percentile
from imagecache_client import AsyncImageCacheClient, FileCacheClient, ImageCacheClient
from imagecache_client.images import ImageRequest
from imagecache_client.prefill import prefill as prefill_items
from testkit.upstream import make_query, simulate

HITS = 2000
ASYNC_HITS, ASYNC_DISTINCT = 1000, 50
PREFILL, LATENCY_MS, CONCURRENCY = 200, 1000, 64
BIG = 256 * 1024 * 1024


def timed_ms(call: Callable[[], object], times: int) -> list[float]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def hits(bench_url: str, token: str, local: Path) -> None:
    query = make_query()
    with ImageCacheClient(bench_url, cache_dir=local) as images, httpx.Client(timeout=30) as http:
        entry_id = images.request(query).id
        images.fetch(query)
        server = timed_ms(lambda: http.get(f"{bench_url}/image/{entry_id}").content, HITS)
        local_hit = timed_ms(lambda: images.fetch(query).read_bytes(), HITS)
    figure("image: GET from the server (keep-alive)", describe(server))
    figure("image: fetch(query), local hit, bytes read", describe(local_hit))
    figure("ratio local/server p50 (aim <= 0.5)", f"{percentile(local_hit, 50) / percentile(server, 50):.2f}")
    cli_hit(bench_url, query, local)

    with FileCacheClient(bench_url, token, cache_dir=local) as files:
        source = local.parent / "one-mib.bin"
        source.write_bytes(os.urandom(1024 * 1024))
        cache_id = files.cache_id({"bench": "revalidate"})
        files.upload(cache_id, source)
        fresh = timed_ms(lambda: files.fetch(cache_id), 500)
        files.revalidate_after = 0
        revalidated = timed_ms(lambda: files.fetch(cache_id), 500)

        def download_again() -> None:
            files.local.forget_file(files.server, files.owner, cache_id)
            files.fetch(cache_id)

        reloaded = timed_ms(download_again, 200)
    figure("/v1 1 MiB: local copy within a day", describe(fresh))
    figure("/v1 1 MiB: revalidated, 304", describe(revalidated))
    figure("/v1 1 MiB: downloaded again, 200", describe(reloaded))


def async_hits(bench_url: str, local: Path) -> None:
    """1,000 fetches of cached results at once from one event loop, against the same 1,000 asked of the server at
    once (keep-alive, aiohttp: httpx's pool stalls for seconds when a thousand requests queue on it cold) and the
    sync client's 1,000 in a row."""
    queries = [make_query() for _ in range(ASYNC_DISTINCT)]
    asks = [queries[n % ASYNC_DISTINCT] for n in range(ASYNC_HITS)]

    async def measured() -> tuple[float, float]:
        async with AsyncImageCacheClient(bench_url, cache_dir=local) as images, aiohttp.ClientSession() as http:
            ids = [(await images.request(query)).id for query in queries]
            await asyncio.gather(*(images.fetch(query) for query in queries))
            started = time.perf_counter()
            await asyncio.gather(*(images.fetch(query) for query in asks))
            local_ms = (time.perf_counter() - started) * 1000

            async def served(n: int) -> bytes:
                async with http.get(f"{bench_url}/image/{ids[n % ASYNC_DISTINCT]}") as response:
                    return await response.read()

            started = time.perf_counter()
            await asyncio.gather(*(served(n) for n in range(ASYNC_HITS)))
            return local_ms, (time.perf_counter() - started) * 1000

    local_ms, server_ms = asyncio.run(measured())
    with ImageCacheClient(bench_url, cache_dir=local) as images:
        started = time.perf_counter()
        for query in asks:
            images.fetch(query)
        sync_ms = (time.perf_counter() - started) * 1000
    figure(
        f"async: {ASYNC_HITS} fetch(query) at once, local hits",
        f"{local_ms:.0f} ms ({ASYNC_HITS / local_ms * 1000:.0f}/s)",
    )
    figure(
        f"  the same {ASYNC_HITS} GETs of the server at once", f"{server_ms:.0f} ms; ratio {local_ms / server_ms:.2f}"
    )
    figure(f"  the sync client's {ASYNC_HITS} in a row", f"{sync_ms:.0f} ms; ratio {local_ms / sync_ms:.2f}")


def cli_hit(bench_url: str, query: dict, local: Path) -> None:
    """`imagecache-client get` on a local hit: a whole process, against Python's own start-up."""
    query_file = local.parent / "query.json"
    query_file.write_text(json.dumps(query))
    env = {**os.environ, "IMAGECACHE_URL": bench_url, "IMAGECACHE_CACHE_DIR": str(local)}
    command = [sys.executable, "-m", "imagecache_client.cli", "get", str(query_file)]
    hit = timed_ms(lambda: subprocess.run(command, env=env, check=True, capture_output=True), 20)
    bare = timed_ms(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), 20)
    figure("imagecache-client get, local hit (process)", describe(hit))
    figure("  python -c pass (start-up alone)", describe(bare))


def prefill(bench_url: str, simulator: str, local: Path) -> None:
    simulate(simulator, latency_ms=LATENCY_MS)
    asks = [ImageRequest(make_query()) for _ in range(PREFILL)]
    with ImageCacheClient(bench_url, cache_dir=local) as images:
        started = time.perf_counter()
        report = prefill_items(asks, 16, lambda _: None, images=images)
        wall = time.perf_counter() - started
        started = time.perf_counter()
        again = prefill_items(asks, 16, lambda _: None, images=images)
        hit_wall = time.perf_counter() - started
    simulate(simulator)
    floor = math.ceil(PREFILL / CONCURRENCY) * LATENCY_MS / 1000
    figure(
        f"prefill {PREFILL} new queries, -j 16",
        f"{wall:.2f} s ({report.fetched} fetched, {len(report.failures)} failed)",
    )
    figure("  floor: ceil(200/64) x 1 s upstream", f"{floor:.2f} s; ratio {wall / floor:.2f}")
    figure(f"prefill the same {PREFILL} again", f"{hit_wall * 1000:.0f} ms ({again.hits} hits)")


def big_file(bench_url: str, token: str, local: Path) -> None:
    source = local.parent / "big.bin"
    with open(source, "wb") as out:
        for _ in range(BIG // (1024 * 1024)):
            out.write(os.urandom(1024 * 1024))
    auth = ["-H", f"Authorization: {token}"]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with FileCacheClient(bench_url, token, cache_dir=local) as files:
        cache_id = files.cache_id({"bench": "big"})
        url = f"{bench_url}/v1/cache/{cache_id}"
        up = flushed_seconds(lambda: files.upload(cache_id, source))
        curl_up = flushed_seconds(lambda: curl("-o", "/dev/null", *auth, "-F", f"file=@{source}", url))
        down = flushed_seconds(lambda: files.fetch(cache_id))
        curl_down = flushed_seconds(lambda: curl("-o", str(local.parent / "by-curl.bin"), *auth, url))
        copy = flushed_seconds(lambda: files.download(cache_id, local.parent / "copy.bin"))
        blob = files.fetch(cache_id)
        cp = flushed_seconds(lambda: subprocess.run(["cp", str(blob), str(local.parent / "by-cp.bin")], check=True))
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    mb = BIG / 1e6
    figure(
        "256 MiB upload (hash, then send)",
        f"{mb / up:.0f} MB/s; curl -F {mb / curl_up:.0f} MB/s; ratio {curl_up / up:.2f}",
    )
    figure(
        "256 MiB download into the local cache",
        f"{mb / down:.0f} MB/s; curl -o {mb / curl_down:.0f} MB/s; ratio {curl_down / down:.2f}",
    )
    figure(
        "256 MiB copy to a destination (local hit)",
        f"{mb / copy:.0f} MB/s; cp {mb / cp:.0f} MB/s; ratio {cp / copy:.2f}",
    )
    figure("client peak RSS growth (aim < 64 MiB)", f"{max(grown, 0) / 2**20:.1f} MiB")


def flushed_seconds(transfer: Callable[[], object]) -> float:
    """One transfer, started with no dirty pages left by the one before (the disk is shared)."""
    os.sync()
    started = time.perf_counter()
    transfer()
    return time.perf_counter() - started


def curl(*args: str) -> None:
    """The reference: curl moves the same bytes (without hashing them)."""
    subprocess.run(["curl", "-sf", *args], check=True)


def main() -> None:
    if shutil.which("curl") is None:
        raise SystemExit("bench.client needs curl (the reference): apt-get install curl")
    env = {"WORKER_CONCURRENCY": str(CONCURRENCY), "UPSTREAM_MAX_CONCURRENCY": str(CONCURRENCY)}
    # The big file's client side lives in memory when it can: a VM disk's write speed swings
    # between runs by 5x and would drown what the client itself costs.
    memory = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with (
        environment(**env) as bench,
        tempfile.TemporaryDirectory(prefix="bench-client-") as scratch,
        tempfile.TemporaryDirectory(prefix="bench-client-", dir=memory) as in_memory,
    ):
        big_file(bench.stack.url, bench.token, Path(in_memory) / "local")
        local = Path(scratch) / "local"
        hits(bench.stack.url, bench.token, local)
        async_hits(bench.stack.url, local)
        prefill(bench.stack.url, bench.simulator, local)


if __name__ == "__main__":
    main()

"""Purging by tag runs in batches: 100,000 tagged entries, half of them soft-purged, then all of them purged,
through the production wiring on a Redis of the benchmark's own; how long each took and the slowest Redis
command meanwhile (SLOWLOG: every command over 1 ms is logged, the commands scripts run included; the aim is
none over 5 ms). The reference, in the same run: as many entries deleted the way expiry deletes them
(`delete_expired`, by id, 200 at a time), which is what a purge adds its scan of the tag's set to."""

from __future__ import annotations

import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from redis import Redis

from bench.harness import figure
from imagecache.composition import Components
from imagecache.config import load_config
from imagecache.index.entry_index import RedisEntryIndex
from imagecache.services.tag_purge import TagPurge
from testkit.index import activate, request
from testkit.redis_server import OwnRedis

SLOW_US = 1000
AIM_MS = 5.0


def fill(entries: RedisEntryIndex, count: int, first: int = 0, tagged: bool = True) -> list[str]:
    """`count` active entries tagged `bulk`, every other one `half` too (8 clients at once); their ids."""
    now = time.time()

    def make(n: int) -> str:
        tags = (("bulk", "half") if n % 2 else ("bulk",)) if tagged else ()
        entry_id = request(entries, f"{n:064x}", now=now, ttl=86400, pickup_grace=86400, tags=tags).entry.id
        activate(entries, entry_id, now=now, size=1000)
        return entry_id

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(make, range(first, first + count), chunksize=2000))


def timed(redis: Redis, purge: TagPurge, tag: str, soft: bool) -> tuple[int, float, list[float]]:
    """(entries purged, seconds, the durations in ms of the commands over 1 ms meanwhile, slowest first)."""
    redis.slowlog_reset()
    started = time.perf_counter()
    purged = purge.purge([tag], soft=soft)
    seconds = time.perf_counter() - started
    slow = sorted((entry["duration"] / 1000 for entry in redis.slowlog_get(10_000)), reverse=True)
    return purged, seconds, slow


def reference(redis: Redis, entries: RedisEntryIndex, count: int) -> tuple[int, float, list[float]]:
    """As many untagged entries, made and then deleted by id as expiry does, timed and logged as a purge."""
    ids = fill(entries, count, first=count, tagged=False)
    redis.slowlog_reset()
    started = time.perf_counter()
    for first in range(0, count, 200):
        entries.delete_expired(ids[first : first + 200], time.time())
    seconds = time.perf_counter() - started
    slow = sorted((entry["duration"] / 1000 for entry in redis.slowlog_get(10_000)), reverse=True)
    return count, seconds, slow


def report(name: str, purged: int, seconds: float, slow: list[float]) -> None:
    over = [ms for ms in slow if ms > AIM_MS]
    figure(
        name,
        f"{purged:,} entries in {seconds:.1f} s ({purged / seconds:,.0f}/s); slowest command "
        f"{slow[0] if slow else 0:.2f} ms, {len(slow)} over 1 ms, {len(over)} over {AIM_MS:g} ms (aim 0)",
    )


def main(count: int = 100_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = OwnRedis(Path(tmp) / "redis", appendonly=False).start()
        try:
            redis = Redis.from_url(server.url, decode_responses=True)
            redis.config_set("slowlog-log-slower-than", SLOW_US)
            redis.config_set("slowlog-max-len", 10_000)
            config = load_config(redis_url=server.url, cache_path=str(Path(tmp) / "blobs"), _env_file=None)
            components = Components(config)
            fill(components.entries, count)
            purge = TagPurge(components.entries, components.counters)
            report("soft purge of a tag on half of them", *timed(redis, purge, "half", soft=True))
            report(f"purge of a tag on all {count:,}", *timed(redis, purge, "bulk", soft=False))
            report("reference: as many deleted as expiry does", *reference(redis, components.entries, count))
        finally:
            server.stop()


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:]))

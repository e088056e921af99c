"""Maintenance costs what is due, not what the cache holds: a pass over an index of 100k and 1M entries
(a tenth of them pending), first with nothing due, then with 10k entries expired; Redis memory per entry and
the slowest Redis command of each pass (SLOWLOG, threshold 5 ms). Entries are made through the index's own
scripts (8 clients at once), on a Redis of the benchmark's own."""

from __future__ import annotations

import statistics
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
from imagecache.services.maintenance import Maintenance
from testkit.index import activate, request
from testkit.redis_server import OwnRedis

PREFIX = "growth:"
BATCH = 2000
CLIENTS = 8
SLOW_US = 5000


def fill(entries: RedisEntryIndex, count: int, start: int, ttl: float, pending_every: int = 10) -> None:
    """`count` entries through the index's public calls (8 clients at once); every `pending_every`-th is left
    pending, the rest completed; their pickup checks are a day away, so nothing is due but what expires."""
    now = time.time()

    def make(n: int) -> None:
        entry_id = request(entries, f"{n:064x}", now=now, ttl=ttl, pickup_grace=86400).entry.id
        if n % pending_every:
            activate(entries, entry_id, now=now, size=1000)

    with ThreadPoolExecutor(CLIENTS) as pool:
        for _ in pool.map(make, range(start, start + count), chunksize=BATCH):
            pass


def timed_pass(maintenance: Maintenance, redis: Redis) -> tuple[float, float]:
    """(seconds, slowest Redis command in ms) of one pass."""
    redis.slowlog_reset()
    started = time.perf_counter()
    maintenance.run_pass()
    seconds = time.perf_counter() - started
    slowest = max((entry["duration"] for entry in redis.slowlog_get(128)), default=0) / 1000
    return seconds, slowest


def measure(size: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = OwnRedis(Path(tmp) / "redis", appendonly=False).start()
        try:
            redis = Redis.from_url(server.url, decode_responses=True)
            redis.config_set("slowlog-log-slower-than", SLOW_US)
            config = load_config(
                redis_url=server.url, redis_prefix=PREFIX, cache_path=str(Path(tmp) / "blobs"), _env_file=None
            )
            components = Components(config)  # the production wiring, on this Redis
            entries, maintenance = components.entries, components.maintenance
            base = redis.info("memory")["used_memory"]
            started = time.perf_counter()
            fill(entries, size, 0, ttl=86400)
            made = time.perf_counter() - started
            per_entry = (redis.info("memory")["used_memory"] - base) / size
            idle = [timed_pass(maintenance, redis) for _ in range(5)]
            fill(entries, 10_000, size, ttl=1)
            time.sleep(1.1)
            busy_seconds, busy_slowest = timed_pass(maintenance, redis)
        finally:
            server.stop()
    name = f"{size:,} entries ({size // 10:,} pending)"
    figure(name, f"made in {made:.0f} s; {per_entry:.0f} B of Redis memory per entry")
    figure(
        "  pass, nothing due (median of 5)",
        f"{statistics.median(s for s, _ in idle) * 1000:.1f} ms (aim <= 50 ms); slowest command "
        f"{max(ms for _, ms in idle):.1f} ms (aim <= 5 ms)",
    )
    figure(
        "  pass, 10k entries expired",
        f"{busy_seconds * 1000:.0f} ms = {busy_seconds / 10_000 * 1e6:.0f} us per pruned entry; slowest command "
        f"{busy_slowest:.1f} ms",
    )


def main(sizes: list[int] | None = None) -> None:
    for size in sizes or [100_000, 1_000_000]:
        measure(size)


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or None)

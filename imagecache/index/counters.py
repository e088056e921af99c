"""RedisCounters: the Counters port on the stats hash, which every process on every host adds to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from redis import Redis

from imagecache.redis_access.keys import RedisKeys


class RedisCounters:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._stats = RedisKeys(prefix).stats

    def add(self, increments: Mapping[str, float]) -> None:
        """Every increment in one round trip: HINCRBY for an int, HINCRBYFLOAT for a float."""
        with self._redis.pipeline(transaction=False) as pipe:
            for name, amount in increments.items():
                if isinstance(amount, int):
                    pipe.hincrby(self._stats, name, amount)
                else:
                    pipe.hincrbyfloat(self._stats, name, amount)
            pipe.execute()

    def increment(self, counter: str) -> None:
        self._redis.hincrby(self._stats, counter, 1)

    def all(self) -> dict[str, float]:
        stats = cast(dict[str, str], self._redis.hgetall(self._stats))
        return {name: float(value) for name, value in stats.items()}

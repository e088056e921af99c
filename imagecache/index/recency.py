"""RedisRecency: the Recency port, stored results by last use (the `lru` set) and their bytes (the stats hash).

The index scripts keep both exact as results are stored and removed, images and files alike.
"""

from __future__ import annotations

from typing import cast

from redis import Redis

from imagecache.redis_access.keys import RedisKeys


class RedisRecency:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        keys = RedisKeys(prefix)
        self._stats = keys.stats
        self._lru = keys.lru

    def used_bytes(self) -> int:
        images, files = self._redis.hmget(self._stats, "bytes", "file_bytes")
        return sum(int(float(value or 0)) for value in (images, files))

    def least_recent(self, skip: int) -> list[str]:
        return cast(list[str], self._redis.zrange(self._lru, skip, skip))

    def forget(self, member: str) -> None:
        self._redis.zrem(self._lru, member)

"""RedisBlobGarbage: the BlobGarbage port on Redis, blob keys no record points at any more.

Index changes queue the old blob here in the same Lua script that forgets it,
so a crash between the two steps can never leave an orphan; maintenance
deletes each blob once it is due (replaced files get a grace period, so a
reader already streaming the old bytes can finish).
"""

from __future__ import annotations

from typing import cast

from redis import Redis

from imagecache.redis_access.keys import RedisKeys


class RedisBlobGarbage:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self.key = RedisKeys(prefix).gc

    def add(self, blob_key: str, due: float) -> None:
        self._redis.zadd(self.key, {blob_key: due})

    def due(self, now: float, skip: int = 0, limit: int = 500) -> list[str]:
        return cast(list[str], self._redis.zrangebyscore(self.key, "-inf", now, start=skip, num=limit))

    def forget(self, *blob_keys: str) -> None:
        if blob_keys:
            self._redis.zrem(self.key, *blob_keys)

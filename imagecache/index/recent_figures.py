"""RedisRecentFigures: the RecentFigures port on one Redis list, kept to its last SAMPLES entries by LTRIM, so the
last hour's figures cost a few kilobytes however long the cache runs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import cast

from redis import Redis

from imagecache.redis_access.keys import RedisKeys

SAMPLES = 60


class RedisRecentFigures:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._key = RedisKeys(prefix).minutes

    def record(self, sample: Mapping[str, float]) -> None:
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.lpush(self._key, json.dumps(dict(sample), separators=(",", ":")))
            pipe.ltrim(self._key, 0, SAMPLES - 1)
            pipe.execute()

    def recent(self) -> list[dict[str, float]]:
        return [json.loads(item) for item in reversed(cast(list[str], self._redis.lrange(self._key, 0, SAMPLES - 1)))]

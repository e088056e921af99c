"""RedisCallbackRegistry: the CallbackRegistry port on Redis; the callbacks of settled entries, until handed on.

The request script keeps each URL in callbacks:<id> while the entry is pending;
the script that settles the entry adds it to callbacks_due in the same step
(index/lua/entry_request.lua, entry_complete.lua, entry_fail.lua).
"""

from __future__ import annotations

from typing import cast

from redis import Redis

from imagecache.redis_access.keys import RedisKeys


class RedisCallbackRegistry:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._keys = RedisKeys(prefix)

    def due(self, settled_before: float, limit: int = 100) -> list[str]:
        """Settled entries whose callbacks are yet to be handed on, oldest first."""
        due = self._redis.zrangebyscore(self._keys.callbacks_due, "-inf", settled_before, start=0, num=limit)
        return cast(list[str], due)

    def urls(self, entry_id: str) -> list[str]:
        return sorted(cast(set[str], self._redis.smembers(self._keys.callbacks_prefix + entry_id)))

    def sent(self, entry_id: str) -> None:
        """Its callbacks are handed on: forget them."""
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._keys.callbacks_prefix + entry_id)
            pipe.zrem(self._keys.callbacks_due, entry_id)
            pipe.execute()

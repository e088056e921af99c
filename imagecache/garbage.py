"""BlobGarbage: blob keys no index entry points at any more.

Index changes queue the old blob here in the same Lua script that forgets it,
so a crash between the two steps can never leave an orphan; maintenance
deletes each blob once it is due (replaced files get a grace period, so a
reader already streaming the old bytes can finish).
"""

from __future__ import annotations

from typing import cast

from redis import Redis

from imagecache.blobs import BlobStore
from imagecache.outages import through_outage
from imagecache.redis_keys import RedisKeys

ORPHAN_GRACE = 60.0  # a new blob whose index write gave up is collected this long after


class BlobGarbage:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self.key = RedisKeys(prefix).gc

    def add(self, blob_key: str, due: float) -> None:
        self._redis.zadd(self.key, {blob_key: due})

    def add_until_indexed(self, key: str, blobs: BlobStore, *, now: float, hold_seconds: float) -> None:
        """A new blob is garbage until the script that indexes it takes it out of the set: whatever happens to
        this process or to Redis meanwhile, it is collected or referenced, never orphaned. Redis away for good
        already: the blob goes at once (and the outage is raised)."""
        try:
            through_outage(lambda: self.add(key, due=now + hold_seconds + ORPHAN_GRACE), hold_seconds)
        except Exception:
            blobs.delete(key)
            raise

    def due(self, now: float, skip: int = 0, limit: int = 500) -> list[str]:
        return cast(list[str], self._redis.zrangebyscore(self.key, "-inf", now, start=skip, num=limit))

    def forget(self, *blob_keys: str) -> None:
        if blob_keys:
            self._redis.zrem(self.key, *blob_keys)

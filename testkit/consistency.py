"""What "the cache is consistent" means after a fault, as numbers a test asserts on."""

from __future__ import annotations

from collections.abc import Iterable

from redis import Redis

from imagecache.domain.entry_record import EntryRecord
from imagecache.redis_access.keys import RedisKeys


def unknown_blobs(redis: Redis, prefix: str, stored: Iterable[str]) -> set[str]:
    """Stored blob keys that no entry or file points at and that are not garbage due for collection: orphans."""
    keys = RedisKeys(prefix)
    known = set(redis.zrange(keys.gc, 0, -1))
    for key in redis.scan_iter(match=keys.entry("*"), count=1000):
        fields = redis.hgetall(key) if redis.type(key) == "hash" else {}
        if fields:  # gone meanwhile (maintenance deleted it): nothing of it to know
            known.add(EntryRecord.from_fields(key.removeprefix(keys.entry("")), fields).blob_key)
    for key in redis.scan_iter(match=keys.file("*"), count=1000):
        if redis.type(key) == "hash":
            known.add(redis.hget(key, "blob_key") or "")
    return {key for key in stored if key not in known}


def pending_count(redis: Redis, prefix: str) -> int:
    return int(redis.hget(RedisKeys(prefix).stats, "pending_count") or 0)

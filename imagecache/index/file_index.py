"""RedisFileIndex: the FileIndex port on Redis, beside the image entries.

Each file is a hash (owner token id, filename, type, size, etag, blob key,
expiry) with its place in an expiry set (keys in keys.py). A replaced
or removed file's blob goes to the shared garbage set in the same script, so
the index never points at a missing blob and no blob is orphaned.
"""

from __future__ import annotations

from typing import cast

from redis import Redis

from imagecache.domain.file_record import FileRecord, Replaced
from imagecache.redis_access import scripts
from imagecache.redis_access.keys import RedisKeys


class RedisFileIndex:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        keys = self._keys = RedisKeys(prefix)
        self._garbage = keys.gc
        self._lru = keys.lru
        self._expiry = keys.files_expiry
        self._stats = keys.stats
        self._ensure = scripts.register(redis, "file_ensure")
        self._replace = scripts.register(redis, "file_replace")
        self._touch = scripts.register(redis, "file_touch")
        self._remove = scripts.register(redis, "file_remove")
        self._adopt = scripts.register(redis, "file_adopt")

    def _key(self, cache_id: str) -> str:
        return self._keys.file(cache_id)

    def ensure(self, cache_id: str, token_id: str, now: float, placeholder_expiry: float) -> FileRecord:
        """The live record, or a new placeholder in place of a missing or expired one."""
        flat = self._ensure(
            keys=[self._key(cache_id), self._expiry, self._garbage, self._stats, self._lru],
            args=[cache_id, token_id, repr(now), repr(placeholder_expiry)],
        )
        return FileRecord.from_fields(dict(zip(flat[::2], flat[1::2])))

    def get(self, cache_id: str, now: float) -> FileRecord | None:
        fields = cast(dict[str, str], self._redis.hgetall(self._key(cache_id)))
        if not fields or float(fields["expires_at"]) <= now:
            return None
        return FileRecord.from_fields(fields)

    def replace(self, record: FileRecord, now: float, old_blob_due: float) -> Replaced:
        """Point the cache at a new blob, if it still exists and still belongs to the same owner."""
        return Replaced(
            self._replace(
                keys=[self._key(record.cache_id), self._expiry, self._garbage, self._stats, self._lru],
                args=[
                    record.cache_id,
                    record.token_id,
                    repr(now),
                    record.blob_key,
                    record.filename,
                    record.content_type,
                    record.size,
                    record.etag,
                    repr(record.expires_at),
                    repr(old_blob_due),
                ],
            )
        )

    def touch(self, cache_id: str, now: float, expires_at: float) -> bool:
        return bool(
            self._touch(
                keys=[self._key(cache_id), self._expiry, self._lru], args=[cache_id, repr(now), repr(expires_at)]
            )
        )

    def remove(self, cache_id: str, now: float, expired_before: float = -1) -> bool:
        """Forget the cache (only if still expired at `expired_before`, when given)."""
        return bool(
            self._remove(
                keys=[self._key(cache_id), self._expiry, self._garbage, self._stats, self._lru],
                args=[cache_id, repr(now), repr(expired_before)],
            )
        )

    def adopt(self, record: FileRecord) -> bool:
        """Index a record made elsewhere (an imported KBase object) unless the id is taken."""
        flat = [item for pair in record.to_fields().items() for item in pair]
        return bool(self._adopt(keys=[self._key(record.cache_id), self._expiry, self._stats, self._lru], args=flat))

    def expired(self, now: float, skip: int = 0, limit: int = 500) -> list[str]:
        return cast(list[str], self._redis.zrangebyscore(self._expiry, "-inf", now, start=skip, num=limit))

    def count(self) -> int:
        return self._redis.zcard(self._expiry)

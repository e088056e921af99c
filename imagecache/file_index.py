"""FileIndex: the Redis index of /v1 cache files, beside the image entries.

  file:<cache_id>   hash: owner (token_id), filename, type, size, etag, blob key, expiry
  files:expiry      sorted set by expiry, for pruning
A replaced or removed file's blob goes to the shared garbage set in the same
script, so the index never points at a missing blob and no blob is orphaned.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import cast

from redis import Redis

from imagecache.garbage import BlobGarbage
from imagecache.lua_checks import CHECKS_AND_COUNTERS

_FIELDS = (
    "cache_id",
    "token_id",
    "filename",
    "content_type",
    "size",
    "etag",
    "blob_key",
    "created_at",
    "updated_at",
    "expires_at",
    "placeholder",
)

_ENSURE = (
    CHECKS_AND_COUNTERS
    + """
local f = redis.call('HMGET', KEYS[1], 'expires_at', 'blob_key', 'size', 'placeholder')
if f[1] and tonumber(f[1]) > tonumber(ARGV[3]) then return redis.call('HGETALL', KEYS[1]) end
if f[4] == '0' and not valid_size(f[3]) then return redis.error_reply('file has no valid size: ' .. ARGV[1]) end
if f[4] == '0' then uncount(KEYS[4], 'file_bytes', f[3]) end
if f[2] and f[2] ~= '' then redis.call('ZADD', KEYS[3], ARGV[3], f[2]) end
redis.call('ZREM', KEYS[5], 'f:' .. ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'cache_id', ARGV[1], 'token_id', ARGV[2], 'filename', 'placeholder',
  'content_type', '', 'size', 0, 'etag', '', 'blob_key', '', 'created_at', ARGV[3], 'updated_at', ARGV[3],
  'expires_at', ARGV[4], 'placeholder', 1)
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
return redis.call('HGETALL', KEYS[1])
"""
)

_REPLACE = (
    CHECKS_AND_COUNTERS
    + """
local f = redis.call('HMGET', KEYS[1], 'token_id', 'expires_at', 'blob_key', 'size', 'placeholder')
if not f[1] or tonumber(f[2]) <= tonumber(ARGV[3]) then return 'missing' end
if f[1] ~= ARGV[2] then return 'forbidden' end
if f[3] == ARGV[4] then return 'ok' end  -- this very upload, indexed by an earlier try of this call
if f[5] == '0' and not valid_size(f[4]) then return redis.error_reply('file has no valid size: ' .. ARGV[1]) end
redis.call('HINCRBY', KEYS[4], 'file_bytes', ARGV[7])
if f[5] == '0' then uncount(KEYS[4], 'file_bytes', f[4]) end
if f[3] ~= '' then redis.call('ZADD', KEYS[3], ARGV[10], f[3]) end
redis.call('ZREM', KEYS[3], ARGV[4])  -- the upload was garbage until now (files.py)
redis.call('HSET', KEYS[1], 'blob_key', ARGV[4], 'filename', ARGV[5], 'content_type', ARGV[6], 'size', ARGV[7],
  'etag', ARGV[8], 'expires_at', ARGV[9], 'updated_at', ARGV[3], 'placeholder', 0)
redis.call('ZADD', KEYS[2], ARGV[9], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[3], 'f:' .. ARGV[1])
return 'ok'
"""
)

_TOUCH = """
local f = redis.call('HMGET', KEYS[1], 'expires_at', 'placeholder')
if not f[1] or tonumber(f[1]) <= tonumber(ARGV[2]) or f[2] ~= '0' then return 0 end
redis.call('HSET', KEYS[1], 'expires_at', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], 'f:' .. ARGV[1])
return 1
"""

_REMOVE = (
    CHECKS_AND_COUNTERS
    + """
local f = redis.call('HMGET', KEYS[1], 'expires_at', 'blob_key', 'size', 'placeholder')
if not f[1] then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
if tonumber(ARGV[3]) >= 0 and tonumber(f[1]) > tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[2], f[1], ARGV[1])  -- not expired after all: its place in the expiry set follows
  return 0
end
if f[4] == '0' and not valid_size(f[3]) then return redis.error_reply('file has no valid size: ' .. ARGV[1]) end
if f[4] == '0' then uncount(KEYS[4], 'file_bytes', f[3]) end
if f[2] ~= '' then redis.call('ZADD', KEYS[3], ARGV[2], f[2]) end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[5], 'f:' .. ARGV[1])
return 1
"""
)

_ADOPT = (
    CHECKS_AND_COUNTERS
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local r = {}
for i = 1, #ARGV, 2 do r[ARGV[i]] = ARGV[i + 1] end
if not (finite(r.expires_at) and finite(r.updated_at) and valid_size(r.size)) then
  return redis.error_reply('file to adopt has a bad time or size: ' .. tostring(r.cache_id))
end
if r.placeholder == '0' then redis.call('HINCRBY', KEYS[3], 'file_bytes', r.size) end
redis.call('HSET', KEYS[1], unpack(ARGV))
redis.call('ZADD', KEYS[2], r.expires_at, r.cache_id)
if r.placeholder == '0' then redis.call('ZADD', KEYS[4], r.updated_at, 'f:' .. r.cache_id) end
return 1
"""
)


class Replaced(str, enum.Enum):
    OK = "ok"
    MISSING = "missing"
    FORBIDDEN = "forbidden"


@dataclass(frozen=True)
class FileRecord:
    cache_id: str
    token_id: str
    filename: str
    content_type: str
    size: int
    etag: str
    blob_key: str
    created_at: float
    updated_at: float
    expires_at: float
    placeholder: bool

    @classmethod
    def from_redis(cls, fields: dict[str, str]) -> FileRecord:
        return cls(
            cache_id=fields["cache_id"],
            token_id=fields["token_id"],
            filename=fields["filename"],
            content_type=fields["content_type"],
            size=int(fields["size"]),
            etag=fields["etag"],
            blob_key=fields["blob_key"],
            created_at=float(fields["created_at"]),
            updated_at=float(fields["updated_at"]),
            expires_at=float(fields["expires_at"]),
            placeholder=fields["placeholder"] == "1",
        )

    def to_redis(self) -> dict[str, str]:
        values = {name: getattr(self, name) for name in _FIELDS}
        values["placeholder"] = int(self.placeholder)
        return {name: str(value) for name, value in values.items()}


class FileIndex:
    def __init__(self, redis: Redis, prefix: str, garbage: BlobGarbage) -> None:
        self._redis = redis
        self._prefix = prefix
        self._lru = prefix + "lru"
        self._expiry = prefix + "files:expiry"
        self._stats = prefix + "stats"
        self.garbage = garbage
        self._ensure = redis.register_script(_ENSURE)
        self._replace = redis.register_script(_REPLACE)
        self._touch = redis.register_script(_TOUCH)
        self._remove = redis.register_script(_REMOVE)
        self._adopt = redis.register_script(_ADOPT)

    def _key(self, cache_id: str) -> str:
        return f"{self._prefix}file:{cache_id}"

    def ensure(self, cache_id: str, token_id: str, now: float, placeholder_expiry: float) -> FileRecord:
        """The live record, or a new placeholder in place of a missing or expired one."""
        flat = self._ensure(
            keys=[self._key(cache_id), self._expiry, self.garbage.key, self._stats, self._lru],
            args=[cache_id, token_id, repr(now), repr(placeholder_expiry)],
        )
        return FileRecord.from_redis(dict(zip(flat[::2], flat[1::2])))

    def get(self, cache_id: str, now: float) -> FileRecord | None:
        fields = cast(dict[str, str], self._redis.hgetall(self._key(cache_id)))
        if not fields or float(fields["expires_at"]) <= now:
            return None
        return FileRecord.from_redis(fields)

    def replace(self, record: FileRecord, now: float, old_blob_due: float) -> Replaced:
        """Point the cache at a new blob, if it still exists and still belongs to the same owner."""
        return Replaced(
            self._replace(
                keys=[self._key(record.cache_id), self._expiry, self.garbage.key, self._stats, self._lru],
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
                keys=[self._key(cache_id), self._expiry, self.garbage.key, self._stats, self._lru],
                args=[cache_id, repr(now), repr(expired_before)],
            )
        )

    def adopt(self, record: FileRecord) -> bool:
        """Index a record made elsewhere (an imported KBase object) unless the id is taken."""
        flat = [item for pair in record.to_redis().items() for item in pair]
        return bool(self._adopt(keys=[self._key(record.cache_id), self._expiry, self._stats, self._lru], args=flat))

    def expired(self, now: float, skip: int = 0, limit: int = 500) -> list[str]:
        return cast(list[str], self._redis.zrangebyscore(self._expiry, "-inf", now, start=skip, num=limit))

    def count(self) -> int:
        return self._redis.zcard(self._expiry)

"""EntryStore: the Redis index of cache entries.

Every state change is one Lua script, so concurrent web workers and hosts see
an entry move pending -> active|error exactly once, and single flight needs no
locks: the first request for a query creates the entry, all others join it.

Keys (under the configured prefix):
  entry:<id>       hash: the entry's fields
  query:<digest>   the id currently serving a query (expires with that entry)
  ids              sorted set by id, for stable cursor paging
  expiry           sorted set by expiry time, for pruning
  created          sorted set by creation time, for "newest first"
  lru              sorted set of stored results by last use ("i:<id>", and "f:<id>" for
                   /v1 files), for eviction under CACHE_MAX_BYTES
  status:<s>       one set per status, for counts and restore
  stats            hash of counters (hits, misses, dedupes, bytes, ...)
  gc               blob keys whose entry is gone (see garbage.py)
  done             pub/sub channel: an entry left pending, or was deleted

Recovery (see recovery.py):
  running          hash: entry id -> the lease of the worker process producing it
  due              sorted set: pending entries not yet claimed, by when to check that their job still waits
  lease:<id>       a worker process's lease: exists while the process lives (renewed twice a second)
  lease_missing    hash: lease -> "first last": when checkers first and last saw it missing (Redis time)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import cast

from redis import Redis

from imagecache.entry import Entry, Outcome, Reuse, Status
from imagecache.garbage import BlobGarbage
from imagecache.lua_checks import CHECKS_AND_COUNTERS

_REQUEST = """
local function answer(id, reuse, stat)
  redis.call('HINCRBY', KEYS[6], stat, 1)
  local out = redis.call('HGETALL', ARGV[1] .. id)
  table.insert(out, 1, reuse)
  table.insert(out, 1, id)
  return out
end
local now = tonumber(ARGV[3])
local cur = redis.call('GET', KEYS[1])
if cur then
  local f = redis.call('HMGET', ARGV[1] .. cur, 'status', 'expires_at', 'completed_at', 'error_until')
  local status, expires = f[1], tonumber(f[2])
  if status and expires and expires > now then
    if status == 'pending' then return answer(cur, 'joined', 'dedupes') end
    if ARGV[6] ~= '1' then
      local max_age = tonumber(ARGV[5])
      if status == 'active' and (max_age < 0 or now - (tonumber(f[3]) or 0) <= max_age) then
        return answer(cur, 'hit', 'hits')
      end
      if status == 'error' and now < (tonumber(f[4]) or 0) then return answer(cur, 'error', 'error_hits') end
    end
  end
end
if redis.call('EXISTS', KEYS[2]) == 1 then return answer(ARGV[2], 'joined', 'dedupes') end
redis.call('HINCRBY', KEYS[6], 'misses', 1)
redis.call('HSET', KEYS[2], 'id', ARGV[2], 'status', 'pending', 'created_at', ARGV[3],
  'expires_at', ARGV[4], 'query', ARGV[7], 'attempts', 0, 'enqueued_at', ARGV[3])
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', math.floor(tonumber(ARGV[4]) * 1000) + 1)
redis.call('ZADD', KEYS[3], 0, ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[2])
redis.call('ZADD', KEYS[7], ARGV[3], ARGV[2])
redis.call('SADD', KEYS[5], ARGV[2])
redis.call('ZADD', KEYS[8], ARGV[8], ARGV[2])
local out = redis.call('HGETALL', KEYS[2])
table.insert(out, 1, 'created')
table.insert(out, 1, ARGV[2])
return out
"""

_COMPLETE = """
local f = redis.call('HMGET', KEYS[1], 'status', 'blob_key')
if f[1] == 'active' and f[2] == ARGV[7] then return 1 end  -- this result, stored by an earlier try of this call
if f[1] ~= 'pending' then return 0 end
redis.call('HINCRBY', KEYS[4], 'bytes', ARGV[4])
redis.call('HDEL', KEYS[6], ARGV[1])
redis.call('ZREM', KEYS[7], ARGV[1])
redis.call('ZREM', KEYS[8], ARGV[7])  -- the result was garbage until now (producer.py)
redis.call('HSET', KEYS[1], 'status', 'active', 'completed_at', ARGV[2],
  'content_type', ARGV[3], 'size', ARGV[4], 'etag', ARGV[5], 'blob_key', ARGV[7])
redis.call('SMOVE', KEYS[2], KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[2], 'i:' .. ARGV[1])
redis.call('PUBLISH', ARGV[6], ARGV[1])
return 1
"""

_FAIL = """
if redis.call('HGET', KEYS[1], 'status') ~= 'pending' then return 0 end
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('HSET', KEYS[1], 'status', 'error', 'completed_at', ARGV[2], 'error_status', ARGV[3],
  'error_type', ARGV[4], 'error_message', ARGV[5], 'error_until', ARGV[6])
redis.call('SMOVE', KEYS[2], KEYS[3], ARGV[1])
redis.call('PUBLISH', ARGV[7], ARGV[1])
return 1
"""

_DELETE = (
    CHECKS_AND_COUNTERS
    + """
local f = redis.call('HMGET', KEYS[1], 'status', 'size', 'blob_key')
if f[1] == 'active' and not valid_size(f[2]) then return redis.error_reply('entry has no valid size: ' .. ARGV[1]) end
if f[1] == 'active' then uncount(KEYS[7], 'bytes', f[2]) end
if redis.call('GET', ARGV[2]) == ARGV[1] then redis.call('DEL', ARGV[2]) end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[1])
redis.call('SREM', KEYS[5], ARGV[1])
redis.call('SREM', KEYS[6], ARGV[1])
redis.call('ZREM', KEYS[9], ARGV[1])
redis.call('ZREM', KEYS[10], 'i:' .. ARGV[1])
redis.call('HDEL', KEYS[11], ARGV[1])
redis.call('ZREM', KEYS[12], ARGV[1])
redis.call('ZADD', KEYS[8], ARGV[4], f[3] or ARGV[3])  -- the entry's result, or (stored before keys) ARGV[3]
if f[1] then
  redis.call('PUBLISH', ARGV[5], ARGV[1])
  return 1
end
return 0
"""
)

_ADOPT = (
    CHECKS_AND_COUNTERS
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if not (finite(ARGV[2]) and finite(ARGV[3]) and finite(ARGV[4]) and valid_size(ARGV[5])) then
  return redis.error_reply('entry to adopt has a bad time or size: ' .. ARGV[1])
end
redis.call('HINCRBY', KEYS[6], 'bytes', ARGV[5])
redis.call('HSET', KEYS[1], unpack(ARGV, 6, #ARGV))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
redis.call('SADD', KEYS[5], ARGV[1])
redis.call('ZADD', KEYS[7], ARGV[4], 'i:' .. ARGV[1])
redis.call('SET', KEYS[8], ARGV[1], 'NX', 'PXAT', math.floor(tonumber(ARGV[2]) * 1000) + 1)
return 1
"""
)

_CLAIM = """
if redis.call('HGET', KEYS[1], 'status') ~= 'pending' then return -1 end
local holder = redis.call('HGET', KEYS[2], ARGV[1])
if holder and holder ~= ARGV[3] and redis.call('EXISTS', ARGV[4] .. holder) == 1 then return -1 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[1], 'started_at', ARGV[2])
return redis.call('HINCRBY', KEYS[1], 'attempts', 1)
"""

_REQUEUE = """
local holder = redis.call('HGET', KEYS[3], ARGV[1])
local held = holder and redis.call('EXISTS', ARGV[4] .. holder) == 1
if redis.call('HGET', KEYS[1], 'status') ~= 'pending' or held then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
redis.call('HSET', KEYS[1], 'enqueued_at', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
"""

_LOST_BY_LEASES = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local ttl = tonumber(ARGV[2])
-- A lease is gone once checkers have seen it missing, look after look, for a whole TTL. A gap of a TTL
-- between two looks (an outage: nobody could look) starts the count again.
local function look(lease)
  if redis.call('EXISTS', ARGV[1] .. lease) == 1 then return 'alive' end
  local first, last = string.match(redis.call('HGET', KEYS[2], lease) or '', '^(%S+) (%S+)$')
  first, last = tonumber(first), tonumber(last)
  if not first or now - last > ttl then first = now end
  redis.call('HSET', KEYS[2], lease, string.format('%.6f %.6f', first, now))
  if now - first >= ttl then return 'gone' end
  return 'missing'
end
local running = redis.call('HGETALL', KEYS[1])
local seen, lost = {}, {}
for i = 1, #running, 2 do
  local id, lease = running[i], running[i + 1]
  seen[lease] = seen[lease] or look(lease)
  if seen[lease] == 'gone' then
    redis.call('HDEL', KEYS[1], id)
    redis.call('ZADD', KEYS[3], 0, id)
    table.insert(lost, id)
  end
end
for _, lease in ipairs(redis.call('HKEYS', KEYS[2])) do
  if seen[lease] ~= 'missing' then redis.call('HDEL', KEYS[2], lease) end  -- alive, gone, or holds nothing
end
return lost
"""

_RELEASE_STRAYS = """
local producing = {}
for i = 2, #ARGV do producing[ARGV[i]] = true end
local running = redis.call('HGETALL', KEYS[1])
local strays = {}
for i = 1, #running, 2 do
  if running[i + 1] == ARGV[1] and not producing[running[i]] then
    redis.call('HDEL', KEYS[1], running[i])
    redis.call('ZADD', KEYS[2], 0, running[i])
    table.insert(strays, running[i])
  end
end
return strays
"""


def _batched(items: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


UPSTREAM_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    next_cursor: str | None


class EntryStore:
    def __init__(self, redis: Redis, prefix: str, garbage: BlobGarbage) -> None:
        self._redis = redis
        self._prefix = prefix
        self.garbage = garbage
        self.channel = prefix + "done"
        self._ids = prefix + "ids"
        self._expiry = prefix + "expiry"
        self._created = prefix + "created"
        self.lru_key = prefix + "lru"
        self._stats = prefix + "stats"
        self._running = prefix + "running"
        self._due = prefix + "due"
        self._lease_missing = prefix + "lease_missing"
        self.lease_prefix = prefix + "lease:"
        self._request = redis.register_script(_REQUEST)
        self._complete = redis.register_script(_COMPLETE)
        self._fail = redis.register_script(_FAIL)
        self._delete = redis.register_script(_DELETE)
        self._claim = redis.register_script(_CLAIM)
        self._requeue = redis.register_script(_REQUEUE)
        self._lost_by_leases = redis.register_script(_LOST_BY_LEASES)
        self._release_strays = redis.register_script(_RELEASE_STRAYS)
        self._adopt = redis.register_script(_ADOPT)

    def _key(self, entry_id: str) -> str:
        return f"{self._prefix}entry:{entry_id}"

    def _query_key(self, digest: str) -> str:
        return f"{self._prefix}query:{digest}"

    def _status_key(self, status: Status) -> str:
        return f"{self._prefix}status:{status.value}"

    def request(
        self,
        *,
        digest: str,
        new_id: str,
        now: float,
        expires_at: float,
        query: str,
        max_age: int | None,
        refresh: bool,
        check_pickup_at: float,
    ) -> Outcome:
        """Join the live entry for this query, or create `new_id` pending (its job checked for at check_pickup_at)."""
        _, reuse, *flat = self._request(
            keys=[
                self._query_key(digest),
                self._key(new_id),
                self._ids,
                self._expiry,
                self._status_key(Status.PENDING),
                self._stats,
                self._created,
                self._due,
            ],
            args=[
                self._key(""),
                new_id,
                repr(now),
                repr(expires_at),
                -1 if max_age is None else max_age,
                int(refresh),
                query,
                repr(check_pickup_at),
            ],
        )
        return Outcome(Entry.from_redis(dict(zip(flat[::2], flat[1::2]))), Reuse(reuse))

    def get(self, entry_id: str) -> Entry | None:
        fields = cast(dict[str, str], self._redis.hgetall(self._key(entry_id)))
        return Entry.from_redis(fields) if fields else None

    def complete(
        self, entry_id: str, *, now: float, content_type: str, size: int, etag: str, blob_key: str | None = None
    ) -> bool:
        """Pending -> active, its result at blob_key, and wake every waiter; False if the entry is gone or
        settled otherwise. True again for the same blob key, so a call retried after a lost reply knows it
        went through. Without a blob key, the entry's base key (as results were stored before per-attempt keys).
        """
        return bool(
            self._complete(
                keys=[
                    self._key(entry_id),
                    self._status_key(Status.PENDING),
                    self._status_key(Status.ACTIVE),
                    self._stats,
                    self.lru_key,
                    self._running,
                    self._due,
                    self.garbage.key,
                ],
                args=[
                    entry_id,
                    repr(now),
                    content_type,
                    size,
                    etag,
                    self.channel,
                    blob_key or Entry.blob_key_for(entry_id),
                ],
            )
        )

    def fail(self, entry_id: str, *, now: float, status: int, kind: str, message: str, until: float) -> bool:
        """Pending -> error, reused by new requests until `until`."""
        return bool(
            self._fail(
                keys=[
                    self._key(entry_id),
                    self._status_key(Status.PENDING),
                    self._status_key(Status.ERROR),
                    self._running,
                    self._due,
                ],
                args=[entry_id, repr(now), status, kind, message, repr(until), self.channel],
            )
        )

    def delete(self, entry_id: str, blob_key: str, now: float) -> bool:
        """Drop the entry from every index and queue its blob for deletion."""
        return bool(self._delete(keys=self._delete_keys(entry_id), args=self._delete_args(entry_id, blob_key, now)))

    def _delete_keys(self, entry_id: str) -> list[str]:
        return [
            self._key(entry_id),
            self._ids,
            self._expiry,
            self._status_key(Status.PENDING),
            self._status_key(Status.ACTIVE),
            self._status_key(Status.ERROR),
            self._stats,
            self.garbage.key,
            self._created,
            self.lru_key,
            self._running,
            self._due,
        ]

    def _delete_args(self, entry_id: str, blob_key: str, now: float) -> list[str]:
        return [entry_id, self._query_key(entry_id[:64]), blob_key, repr(now), self.channel]

    def delete_expired(self, entry_ids: list[str], now: float) -> list[object]:
        """Delete each entry (as `delete`), in one round trip; per entry, its result or the error it met."""
        with self._redis.pipeline(transaction=False) as pipe:
            for entry_id in entry_ids:
                self._delete(
                    keys=self._delete_keys(entry_id),
                    args=self._delete_args(entry_id, Entry.blob_key_for(entry_id), now),
                    client=pipe,
                )
            return [
                outcome if isinstance(outcome, Exception) else bool(outcome)
                for outcome in pipe.execute(raise_on_error=False)
            ]

    def claim(self, entry_id: str, lease: str, now: float) -> int:
        """Count one attempt, made under `lease`; -1 when the entry is settled or a live worker has it."""
        return int(
            self._claim(
                keys=[self._key(entry_id), self._running, self._due],
                args=[entry_id, repr(now), lease, self.lease_prefix],
            )
        )

    def requeue(self, entry_id: str, now: float, check_pickup_at: float) -> bool:
        """Note a new job for the entry, to be checked on at check_pickup_at; False (and no longer due) once it is
        settled or a live worker holds it."""
        return bool(
            self._requeue(
                keys=[self._key(entry_id), self._due, self._running],
                args=[entry_id, repr(now), repr(check_pickup_at), self.lease_prefix],
            )
        )

    def lost_by_leases(self, lease_ttl: float) -> list[str]:
        """Running entries whose worker's lease has been seen missing for lease_ttl: they are due again now."""
        return list(
            self._lost_by_leases(
                keys=[self._running, self._lease_missing, self._due], args=[self.lease_prefix, lease_ttl]
            )
        )

    def release_strays(self, lease: str, producing: set[str]) -> list[str]:
        """Entries held under `lease` that its process no longer produces (its job ended without settling
        them): they are due again now."""
        return list(self._release_strays(keys=[self._running, self._due], args=[lease, *sorted(producing)]))

    def check_every_pending(self, when: float) -> int:
        """Give every pending entry a pickup check at `when` unless it has one: indexes made before pickup checks
        existed get them once (maintenance does this at its start). Costs one pass over the pending set."""
        added = 0
        for batch in _batched(self._redis.sscan_iter(self._status_key(Status.PENDING), count=1000), 1000):
            added += cast(int, self._redis.zadd(self._due, dict.fromkeys(batch, when), nx=True))
        return added

    def due_ids(self, now: float, limit: int = 500) -> list[str]:
        """Pending entries whose job should have been picked up by now."""
        return cast(list[str], self._redis.zrangebyscore(self._due, "-inf", now, start=0, num=limit))

    def check_again_at(self, entry_ids: list[str], when: float) -> None:
        """Entries whose job still waits: look again at `when` (only those still due to be checked)."""
        if entry_ids:
            self._redis.zadd(self._due, dict.fromkeys(entry_ids, when), xx=True)

    def expired_ids(self, now: float, skip: int = 0, limit: int = 500) -> list[str]:
        return cast(list[str], self._redis.zrangebyscore(self._expiry, "-inf", now, start=skip, num=limit))

    def page(self, cursor: str | None, limit: int) -> Page:
        low = f"({cursor}" if cursor else "-"
        ids = cast(list[str], self._redis.zrangebylex(self._ids, low, "+", start=0, num=limit + 1))
        more = len(ids) > limit
        ids = ids[:limit]
        with self._redis.pipeline(transaction=False) as pipe:
            for entry_id in ids:
                pipe.hgetall(self._key(entry_id))
            found = [Entry.from_redis(fields) for fields in pipe.execute() if fields]
        return Page(found, ids[-1] if more and ids else None)

    def adopt(self, entry: Entry) -> bool:
        """Index an active entry rebuilt from its blob, unless the id is already known."""
        fields: dict[str, str | int] = {
            "id": entry.id,
            "status": Status.ACTIVE.value,
            "created_at": repr(entry.created_at),
            "expires_at": repr(entry.expires_at),
            "query": entry.query,
            "content_type": entry.content_type,
            "size": entry.size,
            "etag": entry.etag,
            "completed_at": repr(entry.completed_at),
            "attempts": 1,
            "blob_key": entry.blob_key,
        }
        flat: list[str | int | float] = [item for pair in fields.items() for item in pair]
        return bool(
            self._adopt(
                keys=[
                    self._key(entry.id),
                    self._ids,
                    self._expiry,
                    self._created,
                    self._status_key(Status.ACTIVE),
                    self._stats,
                    self.lru_key,
                    self._query_key(entry.id[:64]),
                ],
                args=[
                    entry.id,
                    repr(entry.expires_at),
                    repr(entry.created_at),
                    repr(entry.completed_at),
                    entry.size,
                    *flat,
                ],
            )
        )

    def touch(self, entry_id: str, now: float) -> None:
        """Mark a stored result as used now (only if it is still stored)."""
        self._redis.zadd(self.lru_key, {"i:" + entry_id: now}, xx=True)

    def newest(self, limit: int) -> list[Entry]:
        ids = cast(list[str], self._redis.zrevrange(self._created, 0, limit - 1))
        with self._redis.pipeline(transaction=False) as pipe:
            for entry_id in ids:
                pipe.hgetall(self._key(entry_id))
            return [Entry.from_redis(fields) for fields in pipe.execute() if fields]

    def counts(self) -> dict[str, int]:
        with self._redis.pipeline(transaction=False) as pipe:
            for status in Status:
                pipe.scard(self._status_key(status))
            pipe.hgetall(self._stats)
            *sizes, stats = pipe.execute()
        counts = {f"{status.value}_count": size for status, size in zip(Status, sizes)}
        counts.update({name: int(float(value)) for name, value in stats.items()})
        return counts

    def record_fetch(self, *, calls: int, failures: int, seconds: float) -> None:
        """One fetch into the shared counters and latency histogram, in one round trip."""
        with self._redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(self._stats, "upstream_calls", calls)
            pipe.hincrby(self._stats, "upstream_retries", calls - 1)
            pipe.hincrby(self._stats, "upstream_failures", failures)
            for bound in UPSTREAM_BUCKETS:
                if seconds <= bound:
                    pipe.hincrby(self._stats, f"upstream_seconds_le_{bound}", 1)
            pipe.hincrby(self._stats, "upstream_seconds_count", 1)
            pipe.hincrbyfloat(self._stats, "upstream_seconds_sum", seconds)
            pipe.execute()

    def increment(self, counter: str) -> None:
        """Add one to a shared counter of the stats hash (what /metrics exports)."""
        self._redis.hincrby(self._stats, counter, 1)

    def stats(self) -> dict[str, float]:
        stats = cast(dict[str, str], self._redis.hgetall(self._stats))
        return {name: float(value) for name, value in stats.items()}

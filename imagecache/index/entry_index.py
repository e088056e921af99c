"""RedisEntryIndex: the entry ports on Redis (EntryRequests, EntryProduction and EntryUpkeep: one per caller).

Every state change is one Lua script (index/lua/entry_*.lua), so
concurrent web workers and hosts see an entry move pending -> active|error
exactly once, and single flight needs no locks: the first request for a query
creates the entry, all others join it.

Its keys are named, and what each holds said, in keys.py; services/recovery.py
and index/leases.py say how `running`, `due` and the leases are used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from redis import Redis

from imagecache.domain.entry_record import (
    MAX_ENTRY_TAGS,
    EntryPage,
    EntryRecord,
    EntryRequest,
    RequestOutcome,
    Reuse,
    Status,
)
from imagecache.domain.error_backoff import ErrorBackoff
from imagecache.domain.errors import QuotaExceeded, TooManyTags
from imagecache.domain.progress import JobProgress
from imagecache.redis_access import scripts
from imagecache.redis_access.keys import RedisKeys
from imagecache_client.ids import EntryId

EXPIRY_ROUNDING = 1e-5  # an id says its expiry to the microsecond; the index's score is the exact float


def _or_minus_one(value: int | None) -> int:
    return -1 if value is None else value


def _pairs(counts: Mapping[str, float] | None) -> list[str]:
    """Counters as a script's name, amount arguments."""
    return [value for name, amount in (counts or {}).items() for value in (name, repr(amount))]


class RedisEntryIndex:
    def __init__(self, redis: Redis, prefix: str, longest_run: float = 3600.0) -> None:
        """`longest_run`: the most seconds a job's run may still take (its kind's timeout, and some)."""
        self._redis = redis
        self._longest_run = longest_run
        keys = self.keys = RedisKeys(prefix)
        self._channel = keys.done
        self._garbage = keys.gc
        self._expiry = keys.expiry
        self._lru = keys.lru
        self._stats = keys.stats
        self._running = keys.running
        self._due = keys.due
        self._lease_missing = keys.lease_missing
        self._lease_prefix = keys.lease_prefix
        self._request = scripts.register(redis, "entry_request")
        self._complete = scripts.register(redis, "entry_complete")
        self._fail = scripts.register(redis, "entry_fail")
        self._progress = scripts.register(redis, "entry_progress")
        self._delete = scripts.register(redis, "entry_delete")
        self._page = scripts.register(redis, "entry_page")
        self._claim = scripts.register(redis, "entry_claim")
        self._requeue = scripts.register(redis, "entry_requeue")
        self._lost_by_leases = scripts.register(redis, "leases_lost")
        self._release_strays = scripts.register(redis, "leases_strays")
        self._adopt = scripts.register(redis, "entry_adopt")
        self._soften = scripts.register(redis, "entry_soften")

    def _key(self, entry_id: str) -> str:
        return self.keys.entry(entry_id)

    def _query_key(self, digest: str) -> str:
        return self.keys.query(digest)

    def request(self, asked: EntryRequest) -> RequestOutcome:
        """Decide a request in one step (entry_request.lua). Raises TooManyTags, changing nothing, when the tags
        would take an entry past MAX_ENTRY_TAGS."""
        keys = [
            self._query_key(asked.digest),
            self._key(asked.new_id),
            self._expiry,
            self._stats,
            self._due,
            self.keys.last_good(asked.digest),
            "" if asked.tenant is None else self.keys.tenant_prefix + asked.tenant,
            self.keys.durations,
            self.keys.tenants,
            "" if asked.tenant is None else self.keys.tenant_held_prefix + asked.tenant,
            *(asked.draft.keys if asked.draft else ()),
        ]
        answered, reuse, started, *flat = self._request(keys=keys, args=self._request_args(asked))
        if reuse == "tags_full":
            raise TooManyTags(int(started), MAX_ENTRY_TAGS)
        if reuse == "quota":
            quota = str(started)
            raise QuotaExceeded(asked.tenant or "", quota, getattr(asked.quota, quota), int(flat[0]))
        return RequestOutcome(
            EntryRecord.from_fields(answered, dict(zip(flat[::2], flat[1::2]))), Reuse(reuse), started
        )

    def _request_args(self, asked: EntryRequest) -> list[str | bytes | int | float]:
        """The script's ARGV, in the order its header names them: one list, each value by name."""
        drafted = asked.draft.args if asked.draft else ()
        named: dict[str, str | int] = {
            "entry key prefix": self._key(""),
            "new id": asked.new_id,
            "now": repr(asked.now),
            "expires_at": repr(asked.expires_at),
            "max_age": _or_minus_one(asked.max_age),
            "refresh": int(asked.refresh),
            "canonical query": asked.query,
            "pickup check at": repr(asked.check_pickup_at),
            "job kind": asked.job,
            "stale_while_revalidate": _or_minus_one(asked.stale_while_revalidate),
            "stale_if_error": _or_minus_one(asked.stale_if_error),
            "callback URL": asked.callback_url,
            "callbacks key prefix": self.keys.callbacks_prefix,
            "tag key prefix": self.keys.tag_prefix,
            "most tags an entry carries": MAX_ENTRY_TAGS,
            "change channel": self._channel,
            "tenant": asked.tenant or "",
            "fresh_per_minute": _or_minus_one(asked.quota.fresh_per_minute),
            "pending": _or_minus_one(asked.quota.pending),
            "how many of the job draft's args follow": len(drafted),
        }
        return [*named.values(), *drafted, *asked.tags]

    def get(self, entry_id: str) -> EntryRecord | None:
        fields = cast(dict[str, str], self._redis.hgetall(self._key(entry_id)))
        return EntryRecord.from_fields(entry_id, fields) if fields else None

    def get_many(self, entry_ids: list[str]) -> list[EntryRecord | None]:
        """Each entry (None where there is none), in one round trip."""
        with self._redis.pipeline(transaction=False) as pipe:
            for entry_id in entry_ids:
                pipe.hgetall(self._key(entry_id))
            found = pipe.execute()
        return [EntryRecord.from_fields(i, fields) if fields else None for i, fields in zip(entry_ids, found)]

    def complete(
        self,
        entry_id: str,
        *,
        now: float,
        content_type: str,
        size: int,
        etag: str,
        blob_key: str,
        counts: Mapping[str, float] | None = None,
    ) -> bool:
        """Pending -> active, its result at blob_key, `counts` added to the counters, and wake every waiter; False
        if the entry is gone or settled otherwise. True again for the same blob key, so a call retried after a lost
        reply knows it went through."""
        return bool(
            self._complete(
                keys=[
                    self._key(entry_id),
                    self._stats,
                    self._lru,
                    self._running,
                    self._due,
                    self._garbage,
                    self.keys.callbacks_prefix + entry_id,
                    self.keys.callbacks_due,
                    self.keys.failures_of(entry_id),
                    self.keys.durations,
                ],
                args=[
                    entry_id,
                    repr(now),
                    content_type,
                    size,
                    etag,
                    self._channel,
                    blob_key,
                    EntryRecord.result_suffix(entry_id, blob_key),
                    self.keys.tenant_prefix,
                    self.keys.tenant_lru_prefix,
                    self.keys.held(entry_id),
                    self.keys.tenant_held_prefix,
                    *_pairs(counts),
                ],
            )
        )

    def fail(
        self,
        entry_id: str,
        *,
        now: float,
        status: int,
        kind: str,
        message: str,
        until: float,
        counts: Mapping[str, float] | None = None,
        backoff: ErrorBackoff | None = None,
    ) -> bool:
        """Pending -> error, reused by new requests until `until`, `counts` added to the counters. With `backoff`,
        until the life it gives this consecutive failure of the query instead."""
        first, most = (str(backoff.first), str(backoff.most)) if backoff else ("", "")
        return bool(
            self._fail(
                keys=[
                    self._key(entry_id),
                    self._running,
                    self._due,
                    self._stats,
                    self.keys.callbacks_prefix + entry_id,
                    self.keys.callbacks_due,
                    self.keys.failures_of(entry_id),
                ],
                args=[
                    entry_id,
                    repr(now),
                    status,
                    kind,
                    message,
                    repr(until),
                    self._channel,
                    first,
                    most,
                    self.keys.tenant_prefix,
                    self.keys.held(entry_id),
                    self.keys.tenant_held_prefix,
                    *_pairs(counts),
                ],
            )
        )

    def delete(self, entry_id: str, now: float) -> bool:
        """Drop the entry from every index and queue its result, if it has one, for deletion."""
        return bool(self._delete(keys=self._delete_keys(entry_id), args=self._delete_args(entry_id, now)))

    def _delete_keys(self, entry_id: str) -> list[str]:
        return [
            self._key(entry_id),
            self._expiry,
            self._stats,
            self._garbage,
            self._lru,
            self._running,
            self._due,
        ]

    def _delete_args(self, entry_id: str, now: float) -> list[str]:
        digest = entry_id[:64]
        return [
            entry_id,
            self._query_key(digest),
            repr(now),
            self._channel,
            self.keys.last_good(digest),
            self.keys.tag_prefix,
            self.keys.callbacks_prefix + entry_id,
            self.keys.callbacks_due,
            EntryRecord.result_prefix(entry_id),
            self.keys.tenant_prefix,
            self.keys.tenant_lru_prefix,
            self.keys.held_prefix,
            self.keys.tenant_held_prefix,
            repr(self._longest_run),
        ]

    def tagged(self, tag: str, cursor: int, count: int) -> tuple[int, list[str]]:
        """A batch of the entries carrying `tag` (SSCAN: every entry tagged throughout the scan is seen), and the
        cursor to go on from (0: done)."""
        next_cursor, ids = self._redis.sscan(self.keys.tag_prefix + tag, cursor, count=count)
        return int(next_cursor), cast(list[str], ids)

    def soften(self, entry_ids: list[str], now: float) -> int:
        """Mark the active and pending ones among these entries stale from now (a soft purge), telling every
        process; how many."""
        if not entry_ids:
            return 0
        return int(self._soften(keys=[self._key(i) for i in entry_ids], args=[repr(now), self._channel, *entry_ids]))

    def delete_expired(self, entry_ids: list[str], now: float) -> list[object]:
        """Delete each entry (as `delete`), in one round trip; per entry, its result or the error it met."""
        with self._redis.pipeline(transaction=False) as pipe:
            for entry_id in entry_ids:
                self._delete(
                    keys=self._delete_keys(entry_id),
                    args=self._delete_args(entry_id, now),
                    client=pipe,
                )
            return [
                outcome if isinstance(outcome, Exception) else bool(outcome)
                for outcome in pipe.execute(raise_on_error=False)
            ]

    def claim(self, entry_id: str, lease: str, now: float, result_key: str, result_due: float) -> EntryRecord | None:
        """The entry, one more attempt counted, made under `lease`, its result key garbage until `result_due`
        unless indexed before; None when the entry is settled or a live worker has it."""
        flat = self._claim(
            keys=[self._key(entry_id), self._running, self._due, self._garbage],
            args=[entry_id, repr(now), lease, self._lease_prefix, result_key, repr(result_due)],
        )
        return EntryRecord.from_fields(entry_id, dict(zip(flat[::2], flat[1::2]))) if flat else None

    def requeue(self, entry_id: str, now: float, check_pickup_at: float) -> tuple[str, str] | None:
        """Note a new job for the entry, to be checked on at check_pickup_at, and give its job kind and tenant;
        None (and no longer due) once it is settled or a live worker holds it."""
        found = self._requeue(
            keys=[self._key(entry_id), self._due, self._running],
            args=[entry_id, repr(now), repr(check_pickup_at), self._lease_prefix],
        )
        return None if found is None else (str(found[0]), str(found[1]))

    def lost_by_leases(self, lease_ttl: float) -> list[str]:
        """Running entries whose worker's lease has been seen missing for lease_ttl: they are due again now."""
        return list(
            self._lost_by_leases(
                keys=[self._running, self._lease_missing, self._due], args=[self._lease_prefix, lease_ttl]
            )
        )

    def release_strays(self, lease: str, producing: set[str]) -> list[str]:
        """Entries held under `lease` that its process no longer produces (its job ended without settling
        them): they are due again now."""
        return list(self._release_strays(keys=[self._running, self._due], args=[lease, *sorted(producing)]))

    def due_ids(self, now: float, limit: int = 500) -> list[str]:
        """Pending entries whose job should have been picked up by now."""
        return cast(list[str], self._redis.zrangebyscore(self._due, "-inf", now, start=0, num=limit))

    def check_again_at(self, entry_ids: list[str], when: float) -> None:
        """Entries whose job still waits: look again at `when` (only those still due to be checked)."""
        if entry_ids:
            self._redis.zadd(self._due, dict.fromkeys(entry_ids, when), xx=True)

    def expired_ids(self, now: float, skip: int = 0, limit: int = 500) -> list[str]:
        return cast(list[str], self._redis.zrangebyscore(self._expiry, "-inf", now, start=skip, num=limit))

    def page(self, cursor: str | None, limit: int) -> EntryPage:
        """Entries by expiry, the last to expire first (the newest, where TTLs are alike), from just after `cursor`
        (the last id of the page before). The expiry index serves the listing too: no index of ids alone costs
        memory per entry."""
        parsed = EntryId.parse(cursor) if cursor else None
        resume = repr(parsed.expires_at + EXPIRY_ROUNDING) if parsed else ""
        ids = cast(list[str], self._page(keys=[self._expiry], args=[limit + 1, cursor or "", resume]))
        more = len(ids) > limit
        ids = ids[:limit]
        found = [entry for entry in self.get_many(ids) if entry is not None]
        return EntryPage(found, ids[-1] if more and ids else None)

    def adopt(self, entry: EntryRecord) -> bool:
        """Index an active entry rebuilt from its blob, unless the id is already known."""
        flat = [item for pair in entry.adopted_fields().items() for item in pair]
        return bool(
            self._adopt(
                keys=[
                    self._key(entry.id),
                    self._expiry,
                    self._stats,
                    self._lru,
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

    def progress(self, entry_id: str, progress: JobProgress) -> bool:
        """Note a running job's progress on its pending entry and wake its waiters; False once it has settled."""
        args = [entry_id, repr(progress.fraction), progress.message, self._channel]
        return bool(self._progress(keys=[self._key(entry_id)], args=args))

    def recent_duration(self, job: str) -> float | None:
        """How long the kind's runs have taken lately (seconds, recent runs weighing most); None before its first."""
        value = self._redis.hget(self.keys.durations, job)
        return float(cast(str, value)) if value is not None else None

    def touch(self, entry: EntryRecord, now: float) -> None:
        """Mark a stored result as used now (only if it is still stored), for its tenant's eviction too."""
        lrus = [self._lru] if entry.tenant is None else [self._lru, self.keys.tenant_lru_prefix + entry.tenant]
        with self._redis.pipeline(transaction=False) as pipe:
            for lru in lrus:
                pipe.zadd(lru, {"i:" + entry.id: now}, xx=True)
            pipe.execute()

    def counts(self) -> dict[str, int]:
        """The counters, each status's count of entries among them (kept by the scripts that change a status:
        a counter costs no memory per entry, as a set of ids would)."""
        stats = cast(dict[str, str], self._redis.hgetall(self._stats))
        counts = {f"{status.value}_count": 0 for status in Status}
        counts.update({name: int(float(value)) for name, value in stats.items()})
        return counts

"""Entries made the way a request makes them, for tests that start from an index in some state."""

from __future__ import annotations

from typing import Any

from imagecache.domain.entry_record import EntryRecord, EntryRequest, RequestOutcome
from imagecache.index.entry_index import RedisEntryIndex
from imagecache_client.ids import EntryId


def request(
    entries: RedisEntryIndex, digest: str, *, now: float, ttl: float, pickup_grace: float = 30, **asked: Any
) -> RequestOutcome:
    """A request for `digest` (64 hex characters) at `now`, as ImageCache makes it: `asked` holds any other
    EntryRequest field (the query `{}` and the kind `chart` unless given)."""
    return entries.request(
        EntryRequest(
            digest=digest,
            new_id=str(EntryId(digest, now + ttl)),
            now=now,
            expires_at=now + ttl,
            check_pickup_at=now + pickup_grace,
            **{"query": "{}", "job": "chart", **asked},
        )
    )


def new_pending(
    entries: RedisEntryIndex, digest: str, *, now: float, expires_at: float, query: str = "{}", pickup_grace: float = 30
) -> str:
    """A new pending entry for `digest`; its id."""
    return request(entries, digest, now=now, ttl=expires_at - now, query=query, pickup_grace=pickup_grace).entry.id


def activate(entries: RedisEntryIndex, entry_id: str, *, now: float, size: int = 1, **fields: Any) -> bool:
    """The entry's result stored (as image/png, etag `e`, under an attempt key of its own) as the producer
    completes it; `fields` may name any other of complete's arguments."""
    given = {"content_type": "image/png", "etag": "e", "blob_key": EntryRecord.result_prefix(entry_id) + ".1", **fields}
    return entries.complete(entry_id, now=now, size=size, **given)


def claim(entries: RedisEntryIndex, entry_id: str, lease: str, now: float) -> EntryRecord | None:
    """An attempt at the entry under `lease`, as a worker makes it (its result key garbage for a minute)."""
    return entries.claim(entry_id, lease, now, EntryRecord.attempt_key(entry_id), now + 60)

"""Entries made the way a request makes them, for tests that start from an index in some state."""

from __future__ import annotations

from typing import Any

from imagecache.domain.entry_record import EntryRequest, RequestOutcome
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

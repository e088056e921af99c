"""Entries made the way a request makes them, for tests that start from an index in some state."""

from __future__ import annotations

from imagecache.index.entry_index import RedisEntryIndex
from imagecache_client.ids import EntryId


def new_pending(
    entries: RedisEntryIndex, digest: str, *, now: float, expires_at: float, query: str = "{}", pickup_grace: float = 30
) -> str:
    """A new pending entry for `digest` (64 hex characters); its id."""
    entry_id = str(EntryId(digest, expires_at))
    entries.request(
        digest=digest,
        new_id=entry_id,
        now=now,
        expires_at=expires_at,
        query=query,
        job="chart",
        max_age=None,
        refresh=False,
        check_pickup_at=now + pickup_grace,
    )
    return entry_id

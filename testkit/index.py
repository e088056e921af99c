"""Entries made the way a request makes them, for tests that start from an index in some state."""

from __future__ import annotations

from imagecache.domain.entry_record import EntryRequest, RequestOutcome
from imagecache.index.entry_index import RedisEntryIndex
from imagecache_client.ids import EntryId


def request(
    entries: RedisEntryIndex,
    digest: str,
    *,
    now: float,
    ttl: float,
    query: str = "{}",
    pickup_grace: float = 30,
    max_age: int | None = None,
    refresh: bool = False,
    stale_while_revalidate: int | None = None,
    stale_if_error: int | None = None,
    tags: tuple[str, ...] = (),
    callback_url: str = "",
    job: str = "chart",
) -> RequestOutcome:
    """A request for `digest` (64 hex characters) at `now`, as ImageCache makes it (for the default kind unless
    `job` names another)."""
    return entries.request(
        EntryRequest(
            digest=digest,
            new_id=str(EntryId(digest, now + ttl)),
            now=now,
            expires_at=now + ttl,
            query=query,
            job=job,
            check_pickup_at=now + pickup_grace,
            max_age=max_age,
            refresh=refresh,
            stale_while_revalidate=stale_while_revalidate,
            stale_if_error=stale_if_error,
            tags=tags,
            callback_url=callback_url,
        )
    )


def new_pending(
    entries: RedisEntryIndex, digest: str, *, now: float, expires_at: float, query: str = "{}", pickup_grace: float = 30
) -> str:
    """A new pending entry for `digest`; its id."""
    return request(entries, digest, now=now, ttl=expires_at - now, query=query, pickup_grace=pickup_grace).entry.id

"""Cache-Status (RFC 9211): how this cache answered, as the `imagecache` member of the header.

A proxy in front appends its own member after ours (deploy/nginx does), so a client reads the path of its answer
from the origin outwards. The values and their meaning live here once: the answers set them, the OpenAPI
document describes them from ANSWERS.
"""

from __future__ import annotations

from imagecache.domain.entry_record import Reuse

HEADER = "Cache-Status"
MEMBER = "imagecache"

HIT = f"{MEMBER}; hit"
MISS = f"{MEMBER}; fwd=miss; stored"
REFRESHED = f"{MEMBER}; fwd=request; stored"
STALE = f"{MEMBER}; fwd=stale"
COALESCED = f"{MEMBER}; hit; detail=coalesced"
ERROR = f"{MEMBER}; hit; detail=error"
PENDING = f"{MEMBER}; fwd=miss; detail=pending"

ANSWERS = {
    HIT: "a stored result answered",
    MISS: "none was stored: a new entry, its result produced once in the background",
    REFRESHED: "the request asked for a new result (refresh): one is produced",
    STALE: "a stored result past max_age answered, as the request allowed, while one refresh runs or instead of one "
    "that failed",
    COALESCED: "the request joined a production already under way (another request's) and its result answered",
    ERROR: "a stored failure answered: the query is tried again once its error expires",
    PENDING: "GET /image: the result was still being produced when the wait ran out",
}

_BY_REUSE = {
    Reuse.CREATED: MISS,
    Reuse.JOINED: COALESCED,
    Reuse.HIT: HIT,
    Reuse.ERROR: ERROR,
    Reuse.STALE: STALE,
}


def of_request(reuse: Reuse, refresh: bool) -> str:
    """The member for POST /requests: how its entry came to answer."""
    if reuse is Reuse.CREATED and refresh:
        return REFRESHED
    return _BY_REUSE[reuse]


def of_image(waited: bool) -> str:
    """The member for a stored result served by GET /image: COALESCED when the request waited for its production."""
    return COALESCED if waited else HIT


def described() -> str:
    """The header's values for the OpenAPI document."""
    return "RFC 9211; this cache's member, a proxy's after it: " + "; ".join(
        f"`{value}`: {meaning}" for value, meaning in ANSWERS.items()
    )

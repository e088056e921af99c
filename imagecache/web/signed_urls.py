"""Signed URLs: `/image/<id>?expires=<unix>&sig=<hmac>` serves a result without an API key until `expires`.

The signature is HMAC-SHA256 over the id and the expiry, under the newest of SIGNED_URL_SECRET's keys; any of
them verifies, so a key is rotated by putting a new one first and dropping the old one once its URLs lapse. A URL
never outlives its entry (the id carries the entry's expiry). The check runs before the API-key guard: a signed
request is judged by its signature alone, and a bad one is a 403 saying what is wrong with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import falcon

from imagecache.web.error_responses import ApiError

ROUTE = "/image/{entry_id}"
EXPIRES, SIG = "expires", "sig"


class UrlSigner:
    def __init__(self, keys: Sequence[bytes], clock: Callable[[], float] = time.time) -> None:
        if not keys:
            raise ValueError("a signer needs at least one key")
        self._keys = list(keys)
        self._clock = clock

    def url_for(self, entry_id: str, entry_expires_at: float, ttl: int) -> str:
        """A URL for the entry's result, good for `ttl` seconds from now and never past the entry's expiry."""
        expires = min(math.floor(self._clock() + ttl), math.floor(entry_expires_at))
        signature = _sign(self._keys[0], entry_id, expires)
        return f"/image/{quote(entry_id, safe='')}?{EXPIRES}={expires}&{SIG}={signature}"

    def verify(self, entry_id: str, expires: str, signature: str) -> int:
        """The URL's expiry when its signature holds and it has not passed; otherwise ApiError 403 naming why."""
        if not (expires.isascii() and expires.isdigit()) or len(expires) > 12:
            raise _refused(f"{EXPIRES} must be a Unix time in seconds")
        until = int(expires)
        matches = signature.isascii() and any(
            hmac.compare_digest(_sign(key, entry_id, until), signature) for key in self._keys
        )
        if not matches:
            raise _refused("the signature does not match this URL: changed, or signed with a key no longer kept")
        if until <= self._clock():
            raise _refused(f"the signed URL expired at {datetime.fromtimestamp(until, UTC).isoformat()}")
        return until


class SignedUrlMiddleware:
    """Judges a signed /image request by its signature; one that holds goes past the API-key guard
    (req.context.signed_until: when its URL expires, which caps what caches may keep)."""

    def __init__(self, signer: UrlSigner) -> None:
        self._signer = signer

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: object, params: dict[str, Any]
    ) -> None:
        if req.uri_template != ROUTE or (EXPIRES not in req.params and SIG not in req.params):
            return
        expires, signature = req.get_param(EXPIRES) or "", req.get_param(SIG) or ""
        if not expires or not signature:
            raise _refused(f"a signed URL carries both {EXPIRES} and {SIG}")
        req.context.signed_until = self._signer.verify(str(params.get("entry_id", "")), expires, signature)


def cache_control(until: int, remaining: int, now: float) -> list[str]:
    """A signed answer's caching: shared caches keep it no longer than the URL is good (and the result lives);
    browsers ask again each time (a 304 by ETag), as a cache in front resends the age it stored with no Age."""
    return ["public", "max-age=0", f"s-maxage={max(0, min(remaining, math.floor(until - now)))}"]


def signed_until(req: falcon.Request) -> int | None:
    """When the request's signed URL expires; None for a request that was not signed."""
    until: int | None = req.context.get("signed_until")
    return until


def _sign(key: bytes, entry_id: str, expires: int) -> str:
    digest = hmac.new(key, f"{entry_id}\n{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _refused(message: str) -> ApiError:
    return ApiError(403, message, loc=SIG, kind="forbidden")

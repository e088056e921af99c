"""KBaseAuth: the TokenAuthority port on KBase's auth service.

A token is never stored or logged: KBase's answers are cached in Redis under
sha256(token) for as long as KBase says (`cachefor`), capped by
AUTH_CACHE_MAX_SECONDS.
"""

from __future__ import annotations

from typing import cast

import httpx
from redis import Redis

from imagecache.auth.hashed_secrets import secret_hash
from imagecache.domain.errors import AuthUnavailable, InvalidToken
from imagecache.domain.identity import Identity

AUTH_TIMEOUT = 5.0


class KBaseAuth:
    def __init__(self, url: str, redis: Redis, key_prefix: str, max_cache_seconds: int) -> None:
        """Answers are cached in Redis under key_prefix + sha256(token)."""
        self.url = url.rstrip("/")
        self._redis = redis
        self._prefix = key_prefix
        self._max_cache = max_cache_seconds
        self._client = httpx.Client(timeout=AUTH_TIMEOUT)

    def identify(self, token: str) -> Identity:
        key = self._prefix + secret_hash(token)
        user = cast(str | None, self._redis.get(key))  # a str: the client decodes responses
        if user is None:
            user, cache_for = self._ask(token)
            if cache_for > 0:
                self._redis.set(key, user, ex=cache_for)
        return Identity(user, f"{self.url}:{user}")

    def _ask(self, token: str) -> tuple[str, int]:
        try:
            response = self._client.get(self.url + "/api/V2/token", headers={"Authorization": token})
        except httpx.HTTPError as exc:
            raise AuthUnavailable(f"auth service unreachable: {type(exc).__name__}") from None
        if response.status_code >= 500:
            raise AuthUnavailable(f"auth service answered {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict) or "error" in body or not body.get("user"):
            raise InvalidToken()
        cache_for = int(body.get("cachefor", 0)) // 1000
        return str(body["user"]), min(cache_for, self._max_cache)

"""Who a token belongs to: KBase's auth service, or a local file of token hashes.

A token is never stored or logged: the static file holds sha256(token), and
KBase lookups are cached in Redis under sha256(token) for as long as KBase
says (`cachefor`), capped by AUTH_CACHE_MAX_SECONDS.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol, cast

import httpx
from redis import Redis

from imagecache.redis_keys import RedisKeys
from imagecache.secrets_file import HashedSecrets, secret_hash

AUTH_TIMEOUT = 5.0


class InvalidToken(Exception):
    pass


class AuthUnavailable(Exception):
    """The auth service cannot answer; the request must not go through."""


@dataclass(frozen=True)
class Identity:
    user: str
    token_id: str


class TokenAuthority(Protocol):
    def identify(self, token: str) -> Identity:
        """The token's owner; raises InvalidToken or AuthUnavailable."""


class KBaseAuth:
    def __init__(self, url: str, redis: Redis, prefix: str, max_cache_seconds: int) -> None:
        self.url = url.rstrip("/")
        self._redis = redis
        self._prefix = RedisKeys(prefix).auth_prefix
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


class StaticTokens:
    """Tokens from AUTH_TOKENS_FILE; `token_id` is `static:<user>`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._secrets = HashedSecrets(path)

    def identify(self, token: str) -> Identity:
        user = self._secrets.lookup(token)
        if user is None:
            raise InvalidToken()
        return Identity(user, f"static:{user}")

    def add(self, user: str) -> str:
        return self._secrets.add(user)

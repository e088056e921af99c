"""Who a token belongs to: KBase's auth service, or a local file of token hashes.

A token is never stored or logged: the static file holds sha256(token), and
KBase lookups are cached in Redis under sha256(token) for as long as KBase
says (`cachefor`), capped by AUTH_CACHE_MAX_SECONDS.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx
from redis import Redis

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


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class KBaseAuth:
    def __init__(self, url: str, redis: Redis, prefix: str, max_cache_seconds: int) -> None:
        self.url = url.rstrip("/")
        self._redis = redis
        self._prefix = prefix + "auth:"
        self._max_cache = max_cache_seconds
        self._client = httpx.Client(timeout=AUTH_TIMEOUT)

    def identify(self, token: str) -> Identity:
        key = self._prefix + token_hash(token)
        user = self._redis.get(key)
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
    """Tokens from a file of `sha256(token) user` lines, re-read when it changes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._users: dict[str, str] = {}
        self._stamp: float | None = None
        self._lock = threading.Lock()

    def identify(self, token: str) -> Identity:
        wanted = token_hash(token)
        for known, user in self._load().items():
            if hmac.compare_digest(known, wanted):
                return Identity(user, f"static:{user}")
        raise InvalidToken()

    def add(self, user: str) -> str:
        """Append a new random token for user; returns the token (shown once, stored hashed)."""
        if not user or any(c.isspace() for c in user):
            raise ValueError("a user name is one word")
        token = secrets.token_urlsafe(32)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(f"{token_hash(token)} {user}\n")
        os.chmod(self.path, 0o600)
        return token

    def _load(self) -> dict[str, str]:
        try:
            stamp = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return {}
        with self._lock:
            if stamp != self._stamp:
                lines = self.path.read_text(encoding="utf-8").splitlines()
                pairs = [line.split() for line in lines if not line.startswith("#")]
                self._users = {pair[0]: pair[1] for pair in pairs if len(pair) == 2}
                self._stamp = stamp
            return self._users

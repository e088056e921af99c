"""StaticTokens: the TokenAuthority port on a local file of token hashes (AUTH_TOKENS_FILE).

A token is never stored or logged: the file holds sha256(token) and the user.
"""

from __future__ import annotations

import os

from imagecache.auth.hashed_secrets import HashedSecrets
from imagecache.domain.errors import InvalidToken
from imagecache.domain.identity import Identity


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

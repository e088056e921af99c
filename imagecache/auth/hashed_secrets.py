"""HashedSecrets: a file of `sha256(secret) name` lines, for tokens and API keys.

Secrets are shown once when made and stored only hashed; lookups compare
hashes in constant time and re-read the file when it changes, so adding a
secret needs no restart.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from pathlib import Path


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class HashedSecrets:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._names: dict[str, str] = {}
        self._stamp: int | None = None
        self._lock = threading.Lock()

    def lookup(self, secret: str) -> str | None:
        """The name the secret was made for, or None."""
        wanted = secret_hash(secret)
        found = None
        for known, name in self._load().items():
            if hmac.compare_digest(known, wanted):
                found = name
        return found

    def add(self, name: str) -> str:
        """Append a new random secret for name; returns it (the only time it is seen)."""
        if not name or any(c.isspace() for c in name):
            raise ValueError("a name is one word")
        secret = secrets.token_urlsafe(32)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(f"{secret_hash(secret)} {name}\n")
        os.chmod(self.path, 0o600)
        return secret

    def _load(self) -> dict[str, str]:
        try:
            stamp = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return {}
        with self._lock:
            if stamp != self._stamp:
                lines = self.path.read_text(encoding="utf-8").splitlines()
                pairs = [line.split() for line in lines if not line.startswith("#")]
                self._names = {pair[0]: pair[1] for pair in pairs if len(pair) == 2}
                self._stamp = stamp
            return self._names

"""What every blob store shares: key checks and hashing on the way in (the contract is domain/ports.py).

Writes are atomic (a reader sees the old blob or the new one, never a part),
reads and writes stream in bounded chunks, and keys are checked before any
backend touches them, so no key can name something outside the store.
"""

from __future__ import annotations

import hashlib
import re

from imagecache.domain.errors import SourceInterrupted
from imagecache.domain.ports import BlobInfo, Readable

CHUNK = 1024 * 1024
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,199}){0,7}")


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key) or ".." in key:
        raise ValueError(f"invalid blob key: {key!r}")
    return key


class HashingReader:
    """Wraps a stream to count and hash what passes through, in one read."""

    def __init__(self, stream: Readable) -> None:
        self._stream = stream
        self._hash = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._stream.read(size)
        except OSError as exc:
            raise SourceInterrupted(str(exc)) from exc
        self._hash.update(data)
        self.size += len(data)
        return data

    def info(self) -> BlobInfo:
        return BlobInfo(self.size, self._hash.hexdigest())

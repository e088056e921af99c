"""The blob-store contract every backend keeps.

Writes are atomic (a reader sees the old blob or the new one, never a part),
reads and writes stream in bounded chunks, and keys are checked before any
backend touches them, so no key can name something outside the store.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

CHUNK = 1024 * 1024
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,199}){0,7}")


class StorageError(Exception):
    """Base of storage failures; `status` is the HTTP status that reports it."""

    status = 503


class StorageUnavailable(StorageError):
    status = 503


class StorageFull(StorageError):
    status = 507


class BlobNotFound(StorageError):
    status = 404


class SourceInterrupted(Exception):
    """Reading the bytes to store failed (a client went away): not a storage fault."""


@dataclass(frozen=True)
class BlobInfo:
    size: int
    sha256: str


@dataclass(frozen=True)
class StoredBlob:
    """A blob as listed, with the metadata it was stored with (what rebuilds its index entry)."""

    key: str
    size: int
    etag: str
    content_type: str
    modified: float
    metadata: dict[str, str]


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key) or ".." in key:
        raise ValueError(f"invalid blob key: {key!r}")
    return key


class Readable(Protocol):
    """What a blob is written from: anything read in pieces (a socket's body, a file, bytes in memory)."""

    def read(self, size: int = -1, /) -> bytes: ...


class BlobReader(Protocol):
    """An open blob, read in bounded pieces and then closed (what a response streams: read(None) is read())."""

    def read(self, size: int | None = -1, /) -> bytes: ...

    def close(self) -> None: ...


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


class BlobStore(Protocol):
    def put(self, key: str, stream: Readable, content_type: str, metadata: Mapping[str, str] | None = None) -> BlobInfo:
        """Store the stream's bytes (and metadata) under key, replacing any blob atomically."""

    def open(self, key: str, start: int = 0, length: int | None = None) -> BlobReader:
        """A readable stream of the blob's bytes from `start`; raises BlobNotFound."""

    def delete(self, key: str) -> None:
        """Remove the blob; a missing blob is not an error."""

    def check(self) -> None:
        """Raise StorageUnavailable unless the store can serve now."""

    def sweep(self, older_than: float) -> int:
        """Remove leftovers of writers that died mid-write; the number removed."""

    def blobs(self) -> Iterator[StoredBlob]:
        """Every blob with its metadata."""

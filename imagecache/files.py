"""FileCache: the domain rules of the token-scoped file cache (KBase's /v1 API).

Cache ids are the ones KBase's CachingService computes, so its users keep
their ids; each cache belongs to the token id that made it; placeholders
live 7 days, files 30 days after their last download or replacement.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from imagecache.auth import Identity
from imagecache.blob_metadata import file_metadata
from imagecache.blobs import BlobReader, BlobStore, Readable
from imagecache.capacity import Capacity
from imagecache.file_index import FileIndex, FileRecord, Replaced
from imagecache.outages import through_outage

DAY = 24 * 3600
PLACEHOLDER_TTL = 7 * DAY
FILE_TTL = 30 * DAY
REPLACE_GRACE = 600.0  # a reader of the old bytes has this long to finish


class CacheNotFound(Exception):
    pass


class CacheForbidden(Exception):
    pass


class ChecksumMismatch(Exception):
    pass


class UploadTooLarge(Exception):
    pass


class CannotFit(Exception):
    """Larger than CACHE_MAX_BYTES: no eviction could make room."""


def cache_id_for(token_id: str, params: Any) -> str:
    """blake2b of `token_id + "\\n" + json.dumps(params, sort_keys=True)`, as KBase computes it."""
    text = token_id + "\n" + json.dumps(params, sort_keys=True)
    return hashlib.blake2b(text.encode()).hexdigest()


def is_cache_id(text: str) -> bool:
    return len(text) == 128 and all(c in "0123456789abcdef" for c in text)


class _Limited:
    """A stream that refuses to yield more than `limit` bytes."""

    def __init__(self, stream: Readable, limit: int) -> None:
        self._stream = stream
        self._left = limit

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._left -= len(data)
        if self._left < 0:
            raise UploadTooLarge()
        return data


class FileCache:
    def __init__(
        self,
        index: FileIndex,
        blobs: BlobStore,
        capacity: Capacity,
        max_upload_bytes: int,
        hold_seconds: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.index = index
        self._garbage = index.garbage
        self._blobs = blobs
        self._capacity = capacity
        self.max_upload_bytes = max_upload_bytes
        self._hold_seconds = hold_seconds
        self._clock = clock

    def cache_id(self, identity: Identity, params: Any) -> FileRecord:
        now = self._clock()
        cache_id = cache_id_for(identity.token_id, params)
        return self.index.ensure(cache_id, identity.token_id, now, now + PLACEHOLDER_TTL)

    def owned(self, identity: Identity, cache_id: str) -> FileRecord:
        """The live cache (placeholder or file) if identity owns it."""
        record = self.index.get(cache_id, self._clock()) if is_cache_id(cache_id) else None
        if record is None:
            raise CacheNotFound(cache_id)
        if record.token_id != identity.token_id:
            raise CacheForbidden(cache_id)
        return record

    def download(self, identity: Identity, cache_id: str) -> FileRecord:
        """The file for a read; each read restarts its 30 days."""
        record = self.owned(identity, cache_id)
        if record.placeholder:
            raise CacheNotFound(cache_id)
        now = self._clock()
        self.index.touch(cache_id, now, now + FILE_TTL)
        return record

    def store(
        self,
        record: FileRecord,
        stream: Readable,
        *,
        filename: str,
        content_type: str,
        expected_sha256: str | None,
        size_hint: int = 0,
    ) -> FileRecord:
        """Stream the upload to a new blob, then swap it in; the old bytes stay readable meanwhile."""
        if not self._capacity.fits(size_hint):
            raise CannotFit(size_hint)
        key = f"files/{record.cache_id[:2]}/{record.cache_id}/{uuid.uuid4().hex}"
        now = self._clock()
        metadata = file_metadata(record, filename=filename, now=now)
        info = self._blobs.put(key, _Limited(stream, self.max_upload_bytes), content_type, metadata)
        if not self._capacity.fits(info.size):
            self._blobs.delete(key)
            raise CannotFit(info.size)
        if expected_sha256 is not None and expected_sha256.lower() != info.sha256:
            self._blobs.delete(key)
            raise ChecksumMismatch(info.sha256)
        stored = FileRecord(
            cache_id=record.cache_id,
            token_id=record.token_id,
            filename=filename,
            content_type=content_type,
            size=info.size,
            etag=info.sha256,
            blob_key=key,
            created_at=record.created_at,
            updated_at=now,
            expires_at=now + FILE_TTL,
            placeholder=False,
        )
        self._garbage.add_until_indexed(key, self._blobs, now=self._clock(), hold_seconds=self._hold_seconds)
        # The bytes are stored: an outage now is waited out (the client is still there), not thrown away.
        outcome = through_outage(
            lambda: self.index.replace(stored, now, old_blob_due=now + REPLACE_GRACE), self._hold_seconds
        )
        if outcome is not Replaced.OK:
            self._blobs.delete(key)
            raise CacheForbidden(record.cache_id) if outcome is Replaced.FORBIDDEN else CacheNotFound(record.cache_id)
        self._capacity.enforce()
        return stored

    def open(self, record: FileRecord, start: int = 0, length: int | None = None) -> BlobReader:
        return self._blobs.open(record.blob_key, start, length)

    def delete(self, identity: Identity, cache_id: str) -> None:
        self.owned(identity, cache_id)
        self.index.remove(cache_id, self._clock())

    def expired(self, skip: int = 0) -> list[str]:
        """Ids of caches past their expiry, but the first `skip` of them."""
        return self.index.expired(self._clock(), skip=skip)

    def remove_expired(self, cache_id: str) -> bool:
        """Forget the cache if it is still expired (its blob goes to the garbage set)."""
        now = self._clock()
        return self.index.remove(cache_id, now, expired_before=now)

"""FileCache: the domain rules of the token-scoped file cache (KBase's /v1 API).

Cache ids are the ones KBase's CachingService computes, so its users keep
their ids; each cache belongs to the token id that made it; placeholders
live 7 days, files 30 days after their last download or replacement.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from imagecache.domain.blob_metadata import file_metadata
from imagecache.domain.errors import CacheForbidden, CacheNotFound, CannotFit, ChecksumMismatch, UploadTooLarge
from imagecache.domain.file_record import FileRecord, Replaced, cache_id_for, is_cache_id
from imagecache.domain.identity import Identity
from imagecache.domain.outages import through_outage
from imagecache.domain.ports import BlobGarbage, BlobReader, BlobStore, FileIndex, Readable, Replication, Unreplicated
from imagecache.services.blob_lifecycle import mark_until_indexed
from imagecache.services.capacity import Capacity

DAY = 24 * 3600
PLACEHOLDER_TTL = 7 * DAY
FILE_TTL = 30 * DAY
REPLACE_GRACE = 600.0  # a reader of the old bytes has this long to finish


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
        *,
        garbage: BlobGarbage,
        hold_seconds: float = 0.0,
        replication: Replication | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._index = index
        self._replication = replication or Unreplicated()
        self._garbage = garbage
        self._blobs = blobs
        self._capacity = capacity
        self.max_upload_bytes = max_upload_bytes
        self._hold_seconds = hold_seconds
        self._clock = clock

    def cache_id(self, identity: Identity, params: Any) -> FileRecord:
        now = self._clock()
        cache_id = cache_id_for(identity.token_id, params)
        record = self._index.ensure(cache_id, identity.token_id, now, now + PLACEHOLDER_TTL)
        self._replication.confirm()
        return record

    def owned(self, identity: Identity, cache_id: str) -> FileRecord:
        """The live cache (placeholder or file) if identity owns it."""
        record = self._index.get(cache_id, self._clock()) if is_cache_id(cache_id) else None
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
        self._index.touch(cache_id, now, now + FILE_TTL)
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
        mark_until_indexed(self._garbage, self._blobs, key, now=self._clock(), hold_seconds=self._hold_seconds)
        self._replication.confirm()  # the blob is known as garbage wherever the index fails over to
        # The bytes are stored: an outage now is waited out (the client is still there), not thrown away.
        outcome = through_outage(
            lambda: self._index.replace(stored, now, old_blob_due=now + REPLACE_GRACE), self._hold_seconds
        )
        if outcome is not Replaced.OK:
            self._blobs.delete(key)
            raise CacheForbidden(record.cache_id) if outcome is Replaced.FORBIDDEN else CacheNotFound(record.cache_id)
        self._replication.confirm()
        self._capacity.enforce()
        return stored

    def open(self, record: FileRecord, start: int = 0, length: int | None = None) -> BlobReader:
        return self._blobs.open(record.blob_key, start, length)

    def delete(self, identity: Identity, cache_id: str) -> None:
        self.owned(identity, cache_id)
        self._index.remove(cache_id, self._clock())

    def expired(self, skip: int = 0) -> list[str]:
        """Ids of caches past their expiry, but the first `skip` of them."""
        return self._index.expired(self._clock(), skip=skip)

    def remove_expired(self, cache_id: str) -> bool:
        """Forget the cache if it is still expired (its blob goes to the garbage set)."""
        now = self._clock()
        return self._index.remove(cache_id, now, expired_before=now)

    def count(self) -> int:
        """Caches held, placeholders and expired ones not yet pruned included."""
        return self._index.count()

    def adopt(self, record: FileRecord) -> bool:
        """Index a cache whose blob is already stored (an imported KBase object), unless the id is taken."""
        return self._index.adopt(record)

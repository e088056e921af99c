"""Local copies of S3 objects (AssetCache's records): each `s3://bucket/key` with the ETag it was downloaded at
and when that was last confirmed."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from imagecache_client.local.blob_files import BlobWriter

if TYPE_CHECKING:
    from imagecache_client.local.cache import LocalCache


@dataclass(frozen=True)
class LocalAsset:
    url: str
    etag: str  # the object's ETag when it was downloaded
    validated_at: float
    sha256: str
    size: int
    path: Path


class AssetRecords:
    def __init__(self, cache: LocalCache) -> None:
        self._cache = cache

    def get(self, url: str) -> LocalAsset | None:
        row = self._cache._checkout(
            "SELECT a.*, b.size FROM assets a JOIN blobs b USING (sha256) WHERE a.url = ?", (url,)
        )
        if row is None:
            return None
        path = self._cache.blob_path(row["sha256"])
        return LocalAsset(url, row["etag"], row["validated_at"], row["sha256"], row["size"], path)

    def keep(self, url: str, etag: str, blob: BlobWriter) -> LocalAsset:
        now = time.time()
        with self._cache._writing() as db:
            self._cache._take(db, blob)
            db.execute("INSERT OR REPLACE INTO assets VALUES (?, ?, ?, ?)", (url, blob.sha256, etag, now))
        self._cache.evict(protect=blob.sha256)
        return LocalAsset(url, etag, now, blob.sha256, blob.size, self._cache.blob_path(blob.sha256))

    def confirmed(self, url: str) -> LocalAsset | None:
        """The copy, its ETag confirmed by the store just now; None if it went meanwhile."""
        with self._cache._writing() as db:
            db.execute("UPDATE assets SET validated_at = ? WHERE url = ?", (time.time(), url))
        return self.get(url)

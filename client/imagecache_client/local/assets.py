"""Local copies of S3 objects (AssetCache's records): each `s3://bucket/key` with the ETag it was downloaded at
and when that was last confirmed."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from imagecache_client.local.blob_files import BlobWriter
from imagecache_client.local.store import LocalStore


@dataclass(frozen=True)
class LocalAsset:
    url: str
    etag: str  # the object's ETag when it was downloaded
    validated_at: float
    sha256: str
    size: int
    path: Path


class AssetRecords:
    def __init__(self, store: LocalStore) -> None:
        self._store = store

    def get(self, url: str) -> LocalAsset | None:
        row = self._store.checkout(
            "SELECT a.*, b.size FROM assets a JOIN blobs b USING (sha256) WHERE a.url = ?", (url,)
        )
        if row is None:
            return None
        path = self._store.blob_path(row["sha256"])
        return LocalAsset(url, row["etag"], row["validated_at"], row["sha256"], row["size"], path)

    def keep(self, url: str, etag: str, blob: BlobWriter) -> LocalAsset:
        now = time.time()
        with self._store.writing() as db:
            self._store.take(db, blob)
            db.execute("INSERT OR REPLACE INTO assets VALUES (?, ?, ?, ?)", (url, blob.sha256, etag, now))
        return LocalAsset(url, etag, now, blob.sha256, blob.size, self._store.blob_path(blob.sha256))

    def confirmed(self, url: str) -> LocalAsset | None:
        """The copy, its ETag confirmed by the store just now; None if it went meanwhile."""
        with self._store.writing() as db:
            db.execute("UPDATE assets SET validated_at = ? WHERE url = ?", (time.time(), url))
        return self.get(url)

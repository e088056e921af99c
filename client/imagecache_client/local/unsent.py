"""Results produced here while the server could not be reached, kept until they are uploaded.

A cache failure is a miss, never a failed job: `FileCacheClient.cached` produces
the result anyway and keeps it here, under the (token, parameters) it was
produced for, and a later call uploads it once the server is back. Such a blob
is an ordinary local blob (evicted as any other; then the next call produces
it again), held by an `unsent` row instead of a file's.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from imagecache_client.local.blob_files import BlobWriter
from imagecache_client.local.store import LocalStore


@dataclass(frozen=True)
class Unsent:
    server: str
    owner: str
    key: str  # the (token, parameters) key it was produced for
    filename: str
    sha256: str
    size: int
    path: Path


class UnsentResults:
    def __init__(self, store: LocalStore) -> None:
        self._store = store

    def get(self, server: str, owner: str, key: str) -> Unsent | None:
        row = self._store.checkout(
            "SELECT u.*, b.size FROM unsent u JOIN blobs b USING (sha256) "
            "WHERE u.server = ? AND u.owner = ? AND u.key = ?",
            (server, owner, key),
        )
        if row is None:
            return None
        return Unsent(
            server, owner, key, row["filename"], row["sha256"], row["size"], self._store.blob_path(row["sha256"])
        )

    def keep(self, server: str, owner: str, key: str, filename: str, blob: BlobWriter) -> Unsent:
        with self._store.writing() as db:
            self._store.take(db, blob)
            db.execute(
                "INSERT OR REPLACE INTO unsent VALUES (?, ?, ?, ?, ?)", (server, owner, key, blob.sha256, filename)
            )
        return Unsent(server, owner, key, filename, blob.sha256, blob.size, self._store.blob_path(blob.sha256))

    def sent(self, unsent: Unsent, cache_id: str, filename: str, content_type: str) -> bool:
        """The result was uploaded as cache_id: from now on it is that file's local copy. False if the blob went
        meanwhile (evicted: the caller has uploaded it all the same)."""
        with self._store.writing() as db:
            db.execute(
                "DELETE FROM unsent WHERE server = ? AND owner = ? AND key = ?",
                (unsent.server, unsent.owner, unsent.key),
            )
            if not _held(db, unsent.sha256):
                return False
            db.execute(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    unsent.server,
                    unsent.owner,
                    cache_id,
                    unsent.sha256,
                    f'"{unsent.sha256}"',
                    filename,
                    content_type,
                    time.time(),
                ),
            )
        return True


def _held(db: sqlite3.Connection, sha256: str) -> bool:
    return db.execute("SELECT EXISTS (SELECT 1 FROM blobs WHERE sha256 = ?)", (sha256,)).fetchone()[0] == 1

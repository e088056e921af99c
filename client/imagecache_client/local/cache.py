"""LocalCache: the local index (SQLite) and content-addressed blobs, with LRU eviction and gc."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import platformdirs
from filelock import FileLock

from imagecache_client.ids import EntryId
from imagecache_client.local.assets import AssetRecords
from imagecache_client.local.blob_files import (
    BlobWriter,
    file_size,
    keep_private,
    private_file,
    remove_stale_temp,
    sole_regular_file,
    umask,
)
from imagecache_client.local.records import Collected, Listed, LocalFile, LocalImage, from_row
from imagecache_client.local.schema import HOLDERS, SCHEMA_VERSION, lay_out
from imagecache_client.local.store import LocalStore
from imagecache_client.local.unsent import UnsentResults

log = logging.getLogger("imagecache.client")

DEFAULT_MAX_BYTES = 5 * 1024**3
KEEP_RECENT = 10.0  # seconds a path just handed out is safe from eviction, so its caller can open it


def default_root() -> Path:
    """IMAGECACHE_CACHE_DIR, as the command line reads it, else the user's cache dir."""
    chosen = os.environ.get("IMAGECACHE_CACHE_DIR")
    return Path(chosen) if chosen else Path(platformdirs.user_cache_dir("imagecache-client", appauthor=False))


class LocalCache:
    def __init__(
        self, root: Path | str | None = None, max_bytes: int = DEFAULT_MAX_BYTES, keep_recent: float = KEEP_RECENT
    ) -> None:
        self.root = (Path(root) if root is not None else default_root()).absolute()  # paths handed out outlive a chdir
        self.max_bytes = max_bytes
        self.keep_recent = keep_recent
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        keep_private(self.root)
        for sub in ("blobs", "tmp", "locks"):
            (self.root / sub).mkdir(mode=0o700, exist_ok=True)
        private_file(self.root / "index.sqlite3")  # SQLite gives its -wal and -shm files the same mode
        self.store = LocalStore(self.root)
        self.unsent = UnsentResults(self.store)
        self.assets = AssetRecords(self.store)
        if self.store.connection().execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            self._create()

    def close(self) -> None:
        """Close the index's connections, every thread's."""
        self.store.close()

    # --- blobs -----------------------------------------------------------------

    def blob_path(self, sha256: str) -> Path:
        return self.store.blob_path(sha256)

    @contextmanager
    def writer(self, existing: Path | None = None) -> Iterator[BlobWriter]:
        """A new blob, or `existing` (a producer's output under tmp/) taken as one.

        The blob's file is removed unless a store took it by the end of the block. An output that is
        a link (to a file its producer may change again) is copied, never taken.
        """
        taken = existing if existing is not None and sole_regular_file(existing) else None
        writer = BlobWriter(taken, existing=True) if taken else BlobWriter(self.temp_path(".part"))
        try:
            if existing is not None and taken is None:
                with open(existing, "rb") as source:
                    while chunk := source.read(1024 * 1024):
                        writer.write(chunk)
            yield writer
        finally:
            writer.discard()

    def temp_path(self, suffix: str = ".out") -> Path:
        """A fresh path under tmp/ to write into (gc sweeps it once old and its process is gone)."""
        return self.root / "tmp" / f"{os.getpid()}-{uuid.uuid4().hex}{suffix}"

    def holds(self, path: Path) -> bool:
        return path.resolve().is_relative_to(self.root.resolve())

    def export(self, path: Path, dest: Path) -> Path:
        """Copy a cached file to `dest` atomically, a writable copy (`dest` the file itself: nothing to do; anywhere
        else inside the cache: refused)."""
        if dest.resolve() == path.resolve():
            return dest
        if self.holds(dest):
            raise ValueError(f"{dest} is inside the local cache ({self.root}): choose another destination")
        fd, temp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        os.close(fd)
        try:
            os.chmod(temp, 0o666 & ~umask())
            shutil.copyfile(path, temp)
            os.replace(temp, dest)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return dest

    # --- images: immutable until their expiry --------------------------------

    def image(self, server: str, entry_id: str) -> LocalImage | None:
        row = self.store.checkout(
            "SELECT i.*, b.size FROM images i JOIN blobs b USING (sha256) "
            "WHERE i.server = ? AND i.id = ? AND i.expires_at > ?",
            (server, entry_id, time.time()),
        )
        return from_row(LocalImage, row, self.blob_path(row["sha256"])) if row else None

    def image_for_query(self, server: str, digest: str, max_age: float | None = None) -> LocalImage | None:
        """The newest unexpired copy of the query's image (produced at most max_age seconds ago)."""
        now = time.time()
        oldest = now - max_age if max_age is not None else 0.0
        row = self.store.checkout(
            "SELECT i.*, b.size FROM images i JOIN blobs b USING (sha256) "
            "WHERE i.server = ? AND i.digest = ? AND i.expires_at > ? AND i.produced_at >= ? "
            "ORDER BY i.expires_at DESC LIMIT 1",
            (server, digest, now, oldest),
        )
        return from_row(LocalImage, row, self.blob_path(row["sha256"])) if row else None

    def store_image(
        self, server: str, entry_id: str, produced_at: float, content_type: str, blob: BlobWriter
    ) -> LocalImage:
        parsed = EntryId.parse(entry_id)
        if parsed is None:
            raise ValueError(f"not an image id: {entry_id!r}")
        with self.store.writing() as db:
            self.store.take(db, blob)
            db.execute(
                "INSERT OR REPLACE INTO images VALUES (?, ?, ?, ?, ?, ?, ?)",
                (server, entry_id, parsed.digest, parsed.expires_at, blob.sha256, content_type, produced_at),
            )
        self.evict(protect=blob.sha256)
        return LocalImage(
            server,
            entry_id,
            parsed.expires_at,
            content_type,
            produced_at,
            blob.sha256,
            blob.size,
            self.blob_path(blob.sha256),
        )

    # --- /v1 files: revalidated with their ETag, kept per token ------------------

    def file(self, server: str, owner: str, cache_id: str) -> LocalFile | None:
        row = self.store.checkout(
            "SELECT f.*, b.size FROM files f JOIN blobs b USING (sha256) "
            "WHERE f.server = ? AND f.owner = ? AND f.cache_id = ?",
            (server, owner, cache_id),
        )
        return from_row(LocalFile, row, self.blob_path(row["sha256"])) if row else None

    def store_file(
        self, server: str, owner: str, cache_id: str, etag: str, filename: str, content_type: str, blob: BlobWriter
    ) -> LocalFile:
        now = time.time()
        with self.store.writing() as db:
            self.store.take(db, blob)
            db.execute(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (server, owner, cache_id, blob.sha256, etag, filename, content_type, now),
            )
        self.evict(protect=blob.sha256)  # the replaced blob goes once no one has just been handed it
        return LocalFile(
            server,
            owner,
            cache_id,
            etag,
            filename,
            content_type,
            now,
            blob.sha256,
            blob.size,
            self.blob_path(blob.sha256),
        )

    def mark_validated(self, server: str, owner: str, cache_id: str) -> LocalFile | None:
        """The copy, confirmed by the server just now; None if it went while the server was asked."""
        with self.store.writing() as db:
            db.execute(
                "UPDATE files SET validated_at = ? WHERE server = ? AND owner = ? AND cache_id = ?",
                (time.time(), server, owner, cache_id),
            )
        return self.file(server, owner, cache_id)

    def forget_file(self, server: str, owner: str, cache_id: str) -> None:
        with self.store.writing() as db:
            db.execute("DELETE FROM files WHERE server = ? AND owner = ? AND cache_id = ?", (server, owner, cache_id))
            self._drop_unreferenced(db)

    def remember_cache_id(self, server: str, params_key: str, cache_id: str) -> None:
        with self.store.writing() as db:
            db.execute("INSERT OR REPLACE INTO params VALUES (?, ?, ?)", (server, params_key, cache_id))

    def cache_id(self, server: str, params_key: str) -> str | None:
        row = (
            self.store.connection()
            .execute("SELECT cache_id FROM params WHERE server = ? AND key = ?", (server, params_key))
            .fetchone()
        )
        return row[0] if row else None

    def lock(self, name: str) -> FileLock:
        """A lock shared by every process using this cache, named by any text (a digest, a URL, a path). Not tied to
        a thread: the async client takes and gives it back in whichever worker thread runs each step."""
        path = self.root / "locks" / f"{hashlib.sha256(name.encode()).hexdigest()}.lock"
        return FileLock(path, mode=0o600, thread_local=False)

    # --- housekeeping ------------------------------------------------------------

    def used_bytes(self) -> int:
        return self.store.connection().execute("SELECT bytes FROM totals WHERE name = 'blobs'").fetchone()[0]

    def evict(self, protect: str | None = None) -> tuple[int, int]:
        """Drop expired images, then least recently used blobs beyond max_bytes: (blobs, bytes) freed.

        Blobs used in the last `keep_recent` seconds stay (another process may have just handed out
        their path), and so does `protect`, the blob the caller is about to hand out, even when it
        alone is too big: the bound can be exceeded for a moment by what is in use right now.
        """
        with self.store.writing() as db:
            db.execute("DELETE FROM images WHERE expires_at <= ?", (time.time(),))
            self._drop_unreferenced(db)
            excess = self.used_bytes() - self.max_bytes
            freed = count = 0
            if excess <= 0:
                return count, freed
            rows = db.execute(
                "SELECT sha256, size FROM blobs WHERE sha256 != ? AND used_at < ? ORDER BY used_at",
                (protect or "", time.time() - self.keep_recent),
            ).fetchall()
            for sha, size in rows:
                if freed >= excess:
                    break
                self.store.drop_blob(db, sha)
                freed += size
                count += 1
            return count, freed

    def collect(self) -> Collected:
        """`local gc`: expired images, LRU beyond the bound, orphan blobs and dead temp files."""
        used_before = self.used_bytes()
        expired_before = (
            self.store.connection()
            .execute("SELECT count(*) FROM images WHERE expires_at <= ?", (time.time(),))
            .fetchone()[0]
        )
        evicted, _ = self.evict()
        with self.store.writing() as db:
            orphans, orphan_bytes = self._remove_orphans(db)
        temp = remove_stale_temp(self.root / "tmp")
        kept = self.used_bytes()
        return Collected(expired_before, evicted, orphans, temp, used_before - kept + orphan_bytes, kept)

    def clear(self) -> int:
        """Remove every record and blob: the number of blobs removed."""
        with self.store.writing() as db:
            shas = [row[0] for row in db.execute("SELECT sha256 FROM blobs")]
            for sha in shas:
                self.store.drop_blob(db, sha)
            db.execute("DELETE FROM params")
            self._remove_orphans(db)
        return len(shas)

    def listing(self) -> list[Listed]:
        listed = (
            "SELECT 'image', i.server, i.id, b.size, b.used_at, i.expires_at, b.sha256 FROM images i"
            " JOIN blobs b USING (sha256)"
            " UNION ALL SELECT 'file', f.server, f.cache_id, b.size, b.used_at, NULL, b.sha256 FROM files f"
            " JOIN blobs b USING (sha256)"
            " UNION ALL SELECT 'asset', '', a.url, b.size, b.used_at, NULL, b.sha256 FROM assets a"
            " JOIN blobs b USING (sha256) ORDER BY 5 DESC"
        )
        rows = self.store.connection().execute(listed).fetchall()
        return [
            Listed(kind, server, key, size, used_at, expires_at, self.blob_path(sha))
            for kind, server, key, size, used_at, expires_at, sha in rows
        ]

    # --- internals ---------------------------------------------------------------

    def _create(self) -> None:
        """Lay out a new cache; one from another version of the client is started afresh (it is a cache)."""
        with self.store.writing() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version == SCHEMA_VERSION:
                return  # another process has just done it
            if lay_out(db):
                log.warning(
                    "the local cache at %s has another layout (version %s); starting it afresh", self.root, version
                )
            self._remove_orphans(db)

    def _drop_unreferenced(self, db: sqlite3.Connection) -> None:
        """Blobs no record points at any more, once no one has been handed their path for keep_recent.

        Only blobs a record has let go of are looked at: triggers list them in `released` as records
        are deleted or replaced, so this costs nothing per store however large the cache.
        """
        rows = db.execute(
            "SELECT r.sha256 FROM released r JOIN blobs b USING (sha256) WHERE b.used_at < ?",
            (time.time() - self.keep_recent,),
        ).fetchall()
        for (sha,) in rows:
            held = " OR ".join(f"EXISTS (SELECT 1 FROM {table} WHERE sha256 = ?)" for table in HOLDERS)
            used = db.execute(f"SELECT {held}", (sha,) * len(HOLDERS)).fetchone()[0]
            if not used:
                self.store.drop_blob(db, sha)
            db.execute("DELETE FROM released WHERE sha256 = ?", (sha,))
        db.execute("DELETE FROM released WHERE NOT EXISTS (SELECT 1 FROM blobs WHERE sha256 = released.sha256)")

    def _remove_orphans(self, db: sqlite3.Connection) -> tuple[int, int]:
        """Blob files no row knows (a process died between rename and commit), and rows with no file."""
        known = {row[0] for row in db.execute("SELECT sha256 FROM blobs")}
        count = size = 0
        for path in (self.root / "blobs").glob("*/*"):
            if path.name not in known:
                size += file_size(path)
                path.unlink(missing_ok=True)
                count += 1
        for sha in known:
            if not self.blob_path(sha).is_file():
                self.store.drop_blob(db, sha)
        return count, size

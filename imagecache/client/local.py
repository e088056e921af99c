"""The client's local cache: files by content, records by id, bounded by LRU.

Layout under the root (default: the user's cache dir, via platformdirs):

    blobs/ab/<sha256>   content, written to tmp/ and renamed in: a path the
                        cache hands out never holds a partial file
    index.sqlite3       records: images by id (and by query digest), /v1 files
                        by cache id, params → cache id, and each blob's size
                        and last use
    locks/              file locks, so one process produces what many want

Every change to the index and to blobs/ happens inside one SQLite write
transaction (renames and unlinks included), and so does every checkout that
hands out a path (it marks the blob used), so any number of processes can
share a cache: a blob whose path was handed out in the last KEEP_RECENT
seconds is not removed (evicted, replaced, expired or forgotten) under its
caller, a record whose blob has gone missing is dropped when read, and blobs
are read-only, so one caller cannot change what another is given.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sqlite3
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import platformdirs
from filelock import FileLock

from imagecache.client.errors import NoLocalCopy
from imagecache.ids import EntryId

log = logging.getLogger("imagecache.client")

DEFAULT_MAX_BYTES = 5 * 1024**3
KEEP_RECENT = 10.0  # seconds a path just handed out is safe from eviction, so its caller can open it
STALE_TEMP_SECONDS = 3600  # gc removes a temp file this old whose writing process has ended
SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS blobs (
    sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, used_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS blobs_by_use ON blobs (used_at);
CREATE TABLE IF NOT EXISTS images (
    server TEXT NOT NULL, id TEXT NOT NULL, digest TEXT NOT NULL, expires_at REAL NOT NULL,
    sha256 TEXT NOT NULL, content_type TEXT NOT NULL, produced_at REAL NOT NULL,
    PRIMARY KEY (server, id));
CREATE INDEX IF NOT EXISTS images_by_query ON images (server, digest, expires_at);
CREATE INDEX IF NOT EXISTS images_by_expiry ON images (expires_at);
CREATE INDEX IF NOT EXISTS images_by_blob ON images (sha256);
CREATE TABLE IF NOT EXISTS files (
    server TEXT NOT NULL, owner TEXT NOT NULL, cache_id TEXT NOT NULL, sha256 TEXT NOT NULL, etag TEXT NOT NULL,
    filename TEXT NOT NULL, content_type TEXT NOT NULL, validated_at REAL NOT NULL,
    PRIMARY KEY (server, owner, cache_id));
CREATE INDEX IF NOT EXISTS files_by_blob ON files (sha256);
CREATE TABLE IF NOT EXISTS params (
    server TEXT NOT NULL, key TEXT NOT NULL, cache_id TEXT NOT NULL, PRIMARY KEY (server, key));
CREATE TABLE IF NOT EXISTS totals (name TEXT PRIMARY KEY, bytes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS released (sha256 TEXT PRIMARY KEY);
CREATE TRIGGER IF NOT EXISTS image_gone AFTER DELETE ON images
    BEGIN INSERT OR IGNORE INTO released VALUES (old.sha256); END;
CREATE TRIGGER IF NOT EXISTS image_replaced BEFORE INSERT ON images
    BEGIN INSERT OR IGNORE INTO released SELECT sha256 FROM images WHERE server = new.server AND id = new.id; END;
CREATE TRIGGER IF NOT EXISTS file_gone AFTER DELETE ON files
    BEGIN INSERT OR IGNORE INTO released VALUES (old.sha256); END;
CREATE TRIGGER IF NOT EXISTS file_replaced BEFORE INSERT ON files
    BEGIN INSERT OR IGNORE INTO released SELECT sha256 FROM files
          WHERE server = new.server AND owner = new.owner AND cache_id = new.cache_id; END;
INSERT OR IGNORE INTO totals VALUES ('blobs', 0);
"""


def default_root() -> Path:
    return Path(platformdirs.user_cache_dir("imagecache-client", appauthor=False))


@dataclass(frozen=True)
class Fetched:
    """Where a result is, and whether the local cache already had it."""

    path: Path
    size: int
    from_cache: bool


@dataclass(frozen=True)
class LocalImage:
    server: str
    id: str
    expires_at: float
    content_type: str
    produced_at: float  # when the server made it (its Last-Modified): what max_age measures
    sha256: str
    size: int
    path: Path


@dataclass(frozen=True)
class LocalFile:
    server: str
    owner: str  # a hash of the token it was fetched with: another token is asked for again
    cache_id: str
    etag: str
    filename: str
    content_type: str
    validated_at: float
    sha256: str
    size: int
    path: Path


@dataclass(frozen=True)
class Listed:
    kind: str
    server: str
    key: str
    size: int
    used_at: float
    expires_at: float | None
    path: Path


@dataclass(frozen=True)
class Collected:
    expired: int
    evicted: int
    orphans: int
    temp_files: int
    bytes_freed: int
    bytes_kept: int


class BlobWriter:
    """A new blob under tmp/: hashed on the way in, invisible until a store takes it."""

    def __init__(self, path: Path, existing: bool = False) -> None:
        self.path = path
        self.size = 0
        self._hash = hashlib.sha256()
        self._file: BinaryIO | None = None
        if existing:  # a producer's output, already written
            with open(path, "rb") as file:
                self._hash = hashlib.file_digest(file, "sha256")
                self.size = file.tell()
        else:
            self._file = open(path, "xb")

    def write(self, chunk: bytes) -> None:
        assert self._file is not None, "an existing file is not written to"
        self._file.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def finish(self) -> None:
        if self._file is not None:
            self._file.close()

    def discard(self) -> None:
        self.finish()
        self.path.unlink(missing_ok=True)


class LocalCache:
    def __init__(
        self, root: Path | str | None = None, max_bytes: int = DEFAULT_MAX_BYTES, keep_recent: float = KEEP_RECENT
    ) -> None:
        self.root = Path(root) if root is not None else default_root()
        self.max_bytes = max_bytes
        self.keep_recent = keep_recent
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        for sub in ("blobs", "tmp", "locks"):
            (self.root / sub).mkdir(mode=0o700, exist_ok=True)
        self._local = threading.local()  # a connection per thread, closed when its thread ends
        self._write_lock = threading.Lock()  # threads queue here, not in SQLite's sleeping busy handler
        if self._db().execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            self._create()

    def close(self) -> None:
        """Close this thread's connection (other threads' close as their threads end)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # --- blobs -----------------------------------------------------------------

    def blob_path(self, sha256: str) -> Path:
        return self.root / "blobs" / sha256[:2] / sha256

    @contextmanager
    def writer(self, existing: Path | None = None) -> Iterator[BlobWriter]:
        """A new blob, or `existing` (a producer's output under tmp/) taken as one.

        The blob's file is removed unless a store took it by the end of the block. An output that is
        a link (to a file its producer may change again) is copied, never taken.
        """
        taken = existing if existing is not None and _sole_regular_file(existing) else None
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
        """Copy a cached file to `dest` atomically (a writable copy of the user's own).

        `dest` is the cached file itself: nothing to do. Anywhere else inside the cache: refused.
        """
        if dest.resolve() == path.resolve():
            return dest
        if self.holds(dest):
            raise ValueError(f"{dest} is inside the local cache ({self.root}): choose another destination")
        fd, temp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        os.close(fd)
        try:
            os.chmod(temp, 0o666 & ~_umask())
            shutil.copyfile(path, temp)
            os.replace(temp, dest)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return dest

    # --- images: immutable until their expiry --------------------------------

    def image(self, server: str, entry_id: str) -> LocalImage | None:
        row = self._checkout(
            "SELECT i.*, b.size FROM images i JOIN blobs b USING (sha256) "
            "WHERE i.server = ? AND i.id = ? AND i.expires_at > ?",
            (server, entry_id, time.time()),
        )
        return self._image(row) if row else None

    def image_for_query(self, server: str, digest: str, max_age: float | None = None) -> LocalImage | None:
        """The newest unexpired copy of the query's image (produced at most max_age seconds ago)."""
        now = time.time()
        oldest = now - max_age if max_age is not None else 0.0
        row = self._checkout(
            "SELECT i.*, b.size FROM images i JOIN blobs b USING (sha256) "
            "WHERE i.server = ? AND i.digest = ? AND i.expires_at > ? AND i.produced_at >= ? "
            "ORDER BY i.expires_at DESC LIMIT 1",
            (server, digest, now, oldest),
        )
        return self._image(row) if row else None

    def store_image(
        self, server: str, entry_id: str, produced_at: float, content_type: str, blob: BlobWriter
    ) -> LocalImage:
        parsed = EntryId.parse(entry_id)
        if parsed is None:
            raise ValueError(f"not an image id: {entry_id!r}")
        with self._writing() as db:
            self._take(db, blob)
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
        row = self._checkout(
            "SELECT f.*, b.size FROM files f JOIN blobs b USING (sha256) "
            "WHERE f.server = ? AND f.owner = ? AND f.cache_id = ?",
            (server, owner, cache_id),
        )
        return self._file(row) if row else None

    def store_file(
        self, server: str, owner: str, cache_id: str, etag: str, filename: str, content_type: str, blob: BlobWriter
    ) -> LocalFile:
        now = time.time()
        with self._writing() as db:
            self._take(db, blob)
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
        with self._writing() as db:
            db.execute(
                "UPDATE files SET validated_at = ? WHERE server = ? AND owner = ? AND cache_id = ?",
                (time.time(), server, owner, cache_id),
            )
        return self.file(server, owner, cache_id)

    def forget_file(self, server: str, owner: str, cache_id: str) -> None:
        with self._writing() as db:
            db.execute("DELETE FROM files WHERE server = ? AND owner = ? AND cache_id = ?", (server, owner, cache_id))
            self._drop_unreferenced(db)

    def remember_cache_id(self, server: str, params_key: str, cache_id: str) -> None:
        with self._writing() as db:
            db.execute("INSERT OR REPLACE INTO params VALUES (?, ?, ?)", (server, params_key, cache_id))

    def cache_id(self, server: str, params_key: str) -> str | None:
        row = (
            self._db()
            .execute("SELECT cache_id FROM params WHERE server = ? AND key = ?", (server, params_key))
            .fetchone()
        )
        return row[0] if row else None

    def lock(self, name: str) -> FileLock:
        """A lock shared by every process using this cache (name: a hex digest)."""
        return FileLock(self.root / "locks" / f"{name}.lock")

    # --- housekeeping ------------------------------------------------------------

    def used_bytes(self) -> int:
        return self._db().execute("SELECT bytes FROM totals WHERE name = 'blobs'").fetchone()[0]

    def evict(self, protect: str | None = None) -> tuple[int, int]:
        """Drop expired images, then least recently used blobs beyond max_bytes: (blobs, bytes) freed.

        Blobs used in the last `keep_recent` seconds stay (another process may have just handed out
        their path), and so does `protect`, the blob the caller is about to hand out, even when it
        alone is too big: the bound can be exceeded for a moment by what is in use right now.
        """
        with self._writing() as db:
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
                self._drop_blob(db, sha)
                freed += size
                count += 1
            return count, freed

    def collect(self) -> Collected:
        """`local gc`: expired images, LRU beyond the bound, orphan blobs and dead temp files."""
        used_before = self.used_bytes()
        expired_before = (
            self._db().execute("SELECT count(*) FROM images WHERE expires_at <= ?", (time.time(),)).fetchone()[0]
        )
        evicted, _ = self.evict()
        with self._writing() as db:
            orphans, orphan_bytes = self._remove_orphans(db)
        temp = self._remove_stale_temp()
        kept = self.used_bytes()
        return Collected(expired_before, evicted, orphans, temp, used_before - kept + orphan_bytes, kept)

    def clear(self) -> int:
        """Remove every record and blob: the number of blobs removed."""
        with self._writing() as db:
            shas = [row[0] for row in db.execute("SELECT sha256 FROM blobs")]
            for sha in shas:
                self._drop_blob(db, sha)
            db.execute("DELETE FROM params")
            self._remove_orphans(db)
        return len(shas)

    def listing(self) -> list[Listed]:
        db = self._db()
        images = db.execute(
            "SELECT 'image', i.server, i.id, b.size, b.used_at, i.expires_at, b.sha256 "
            "FROM images i JOIN blobs b USING (sha256)"
        ).fetchall()
        files = db.execute(
            "SELECT 'file', f.server, f.cache_id, b.size, b.used_at, NULL, b.sha256 "
            "FROM files f JOIN blobs b USING (sha256)"
        ).fetchall()
        rows = sorted(images + files, key=lambda row: row[4], reverse=True)
        return [
            Listed(kind, server, key, size, used_at, expires_at, self.blob_path(sha))
            for kind, server, key, size, used_at, expires_at, sha in rows
        ]

    # --- internals ---------------------------------------------------------------

    def _create(self) -> None:
        """Lay out a new cache; one from another version of the client is started afresh (it is a cache)."""
        with self._writing() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version == SCHEMA_VERSION:
                return  # another process has just done it
            tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            if tables:
                log.warning(
                    "the local cache at %s has another layout (version %s); starting it afresh", self.root, version
                )
            for table in tables:
                db.execute(f'DROP TABLE "{table}"')
            for statement in _SCHEMA.split(";\n"):  # a statement ends a line (triggers hold ";" inside)
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._remove_orphans(db)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.root / "index.sqlite3", timeout=60, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        with self._write_lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def _checkout(self, sql: str, args: tuple[object, ...]) -> sqlite3.Row | None:
        """One record whose blob is really there, marked used in the same transaction (so not evicted now)."""
        with self._writing() as db:
            db.row_factory = sqlite3.Row
            try:
                row = db.execute(sql, args).fetchone()
            finally:
                db.row_factory = None
            if row is None:
                return None
            if not self.blob_path(row["sha256"]).is_file():
                self._drop_blob(db, row["sha256"])
                return None
            db.execute("UPDATE blobs SET used_at = ? WHERE sha256 = ?", (time.time(), row["sha256"]))
            return row

    def _take(self, db: sqlite3.Connection, blob: BlobWriter) -> None:
        """Move a written blob into place, read-only (inside the caller's transaction), and count it."""
        blob.finish()
        target = self.blob_path(blob.sha256)
        target.parent.mkdir(mode=0o700, exist_ok=True)
        os.chmod(blob.path, 0o444)
        os.replace(blob.path, target)
        if db.execute("UPDATE blobs SET used_at = ? WHERE sha256 = ?", (time.time(), blob.sha256)).rowcount == 0:
            db.execute("INSERT INTO blobs VALUES (?, ?, ?)", (blob.sha256, blob.size, time.time()))
            db.execute("UPDATE totals SET bytes = bytes + ? WHERE name = 'blobs'", (blob.size,))

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
            used = db.execute(
                "SELECT EXISTS (SELECT 1 FROM images WHERE sha256 = ?) "
                "OR EXISTS (SELECT 1 FROM files WHERE sha256 = ?)",
                (sha, sha),
            ).fetchone()[0]
            if not used:
                self._drop_blob(db, sha)
            db.execute("DELETE FROM released WHERE sha256 = ?", (sha,))
        db.execute("DELETE FROM released WHERE NOT EXISTS (SELECT 1 FROM blobs WHERE sha256 = released.sha256)")

    def _drop_blob(self, db: sqlite3.Connection, sha: str) -> None:
        db.execute("DELETE FROM images WHERE sha256 = ?", (sha,))
        db.execute("DELETE FROM files WHERE sha256 = ?", (sha,))
        row = db.execute("DELETE FROM blobs WHERE sha256 = ? RETURNING size", (sha,)).fetchone()
        if row:
            db.execute("UPDATE totals SET bytes = bytes - ? WHERE name = 'blobs'", (row[0],))
        self.blob_path(sha).unlink(missing_ok=True)

    def _remove_orphans(self, db: sqlite3.Connection) -> tuple[int, int]:
        """Blob files no row knows (a process died between rename and commit), and rows with no file."""
        known = {row[0] for row in db.execute("SELECT sha256 FROM blobs")}
        count = size = 0
        for path in (self.root / "blobs").glob("*/*"):
            if path.name not in known:
                size += _size(path)
                path.unlink(missing_ok=True)
                count += 1
        for sha in known:
            if not self.blob_path(sha).is_file():
                self._drop_blob(db, sha)
        return count, size

    def _remove_stale_temp(self) -> int:
        cutoff = time.time() - STALE_TEMP_SECONDS
        removed = 0
        for path in (self.root / "tmp").iterdir():
            writer_pid = path.name.split("-", 1)[0]
            if _mtime(path) < cutoff and not (writer_pid.isdigit() and _running(int(writer_pid))):
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def _image(self, row: sqlite3.Row) -> LocalImage:
        return LocalImage(
            row["server"],
            row["id"],
            row["expires_at"],
            row["content_type"],
            row["produced_at"],
            row["sha256"],
            row["size"],
            self.blob_path(row["sha256"]),
        )

    def _file(self, row: sqlite3.Row) -> LocalFile:
        return LocalFile(
            row["server"],
            row["owner"],
            row["cache_id"],
            row["etag"],
            row["filename"],
            row["content_type"],
            row["validated_at"],
            row["sha256"],
            row["size"],
            self.blob_path(row["sha256"]),
        )


def offline_copy(exc: Exception, copy: Fetched | None, missing: str) -> Fetched:
    """What a call falls back on when the server cannot be asked: the local copy, with a warning."""
    message = getattr(exc, "message", str(exc))
    if copy is None:
        raise NoLocalCopy(f"{message}; {missing}") from exc
    log.warning("%s; using the local copy %s", message, copy.path)
    return copy


def _sole_regular_file(path: Path) -> bool:
    """A plain file with no other name: safe to take over (chmod and rename) as a blob."""
    status = os.lstat(path)
    return stat.S_ISREG(status.st_mode) and status.st_nlink == 1


def _umask() -> int:
    """The process's umask (read from /proc: setting it to read it back would race other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return time.time()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

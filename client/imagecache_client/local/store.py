"""LocalStore: the local cache's blobs and its SQLite index, and the few ways the record tables (images and files
in cache.py, assets.py, unsent.py) touch them: a connection per thread, one writing transaction at a time, a record
checked out with its blob, a written blob taken in, a blob dropped with every record holding it."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock

from imagecache_client.local.blob_files import BlobWriter
from imagecache_client.local.schema import HOLDERS


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._local = threading.local()  # a connection per thread
        self._opened: list[sqlite3.Connection] = []  # every thread's, so close() closes them all
        self._opening = threading.Lock()
        self._write_lock = threading.Lock()  # threads queue here, not in SQLite's sleeping busy handler

    def blob_path(self, sha256: str) -> Path:
        return self.root / "blobs" / sha256[:2] / sha256

    def connection(self) -> sqlite3.Connection:
        """This thread's connection to the index, for reads outside a writing transaction."""
        db = getattr(self._local, "db", None)
        if db is None:
            # Used by its own thread only; close() may close it from another, once nothing uses the store.
            db = sqlite3.connect(self.root / "index.sqlite3", timeout=60, isolation_level=None, check_same_thread=False)
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                # SQLite answers "database is locked" at once, without waiting, to a process turning a new index to
                # WAL while another does the same; one at a time, the later ones find it done.
                with FileLock(self.root / "locks" / "index.lock", mode=0o600, thread_local=False):
                    db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
            with self._opening:
                self._opened.append(db)
        return db

    def close(self) -> None:
        """Close every thread's connection (the async client's worker threads' too); a thread that asks again
        later opens a new one."""
        with self._opening:
            opened, self._opened = self._opened, []
            self._local = threading.local()
        for db in opened:
            db.close()

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """A writing transaction (BEGIN IMMEDIATE), committed when the block ends, rolled back if it raises."""
        db = self.connection()
        with self._write_lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def checkout(self, sql: str, args: tuple[object, ...]) -> sqlite3.Row | None:
        """One record whose blob is really there, marked used in the same transaction (so not evicted now)."""
        with self.writing() as db:
            db.row_factory = sqlite3.Row
            try:
                row = db.execute(sql, args).fetchone()
            finally:
                db.row_factory = None
            if row is None:
                return None
            if not self.blob_path(row["sha256"]).is_file():
                self.drop_blob(db, row["sha256"])
                return None
            db.execute("UPDATE blobs SET used_at = ? WHERE sha256 = ?", (time.time(), row["sha256"]))
            return row

    def take(self, db: sqlite3.Connection, blob: BlobWriter) -> None:
        """Move a written blob into place, read-only (inside the caller's transaction), and count it."""
        blob.finish()
        target = self.blob_path(blob.sha256)
        target.parent.mkdir(mode=0o700, exist_ok=True)
        os.chmod(blob.path, 0o400)
        os.replace(blob.path, target)
        if db.execute("UPDATE blobs SET used_at = ? WHERE sha256 = ?", (time.time(), blob.sha256)).rowcount == 0:
            db.execute("INSERT INTO blobs VALUES (?, ?, ?)", (blob.sha256, blob.size, time.time()))
            db.execute("UPDATE totals SET bytes = bytes + ? WHERE name = 'blobs'", (blob.size,))

    def drop_blob(self, db: sqlite3.Connection, sha: str) -> None:
        """A blob gone, with every record that held it (inside the caller's transaction)."""
        for table in HOLDERS:
            db.execute(f"DELETE FROM {table} WHERE sha256 = ?", (sha,))
        row = db.execute("DELETE FROM blobs WHERE sha256 = ? RETURNING size", (sha,)).fetchone()
        if row:
            db.execute("UPDATE totals SET bytes = bytes - ? WHERE name = 'blobs'", (row[0],))
        self.blob_path(sha).unlink(missing_ok=True)

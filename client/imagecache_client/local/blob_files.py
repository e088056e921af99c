"""Blob files on disk: a new blob written and hashed under tmp/, and the file checks and modes the cache relies on."""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger("imagecache.client")

STALE_TEMP_SECONDS = 3600  # gc removes a temp file this old whose writing process has ended
HASH_BEHIND_FROM = 256 * 1024  # smaller chunks are hashed at once: a thread's hand-off would cost more


class BlobWriter:
    """A new blob under tmp/: hashed on the way in, invisible until a store takes it.

    A large chunk is hashed on a thread of the writer's own while the caller fetches and writes the next one
    (hashlib lets go of the GIL), so a download costs about its slower half, not both halves.
    """

    def __init__(self, path: Path, existing: bool = False) -> None:
        self.path = path
        self.size = 0
        self._hash = hashlib.sha256()
        self._file: BinaryIO | None = None
        self._hasher: ThreadPoolExecutor | None = None
        self._hashing: Future[None] | None = None
        if existing:  # a producer's output, already written
            with open(path, "rb") as file:
                self._hash = hashlib.file_digest(file, "sha256")
                self.size = file.tell()
        else:
            self._file = os.fdopen(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), "wb")

    def write(self, chunk: bytes) -> None:
        assert self._file is not None, "an existing file is not written to"
        self._settle()
        if isinstance(chunk, bytes) and len(chunk) >= HASH_BEHIND_FROM:  # immutable: safe to hash later
            self._hasher = self._hasher or ThreadPoolExecutor(1, thread_name_prefix="blob-hash")
            self._hashing = self._hasher.submit(self._hash.update, chunk)
        else:
            self._hash.update(chunk)
        self._file.write(chunk)
        self.size += len(chunk)

    @property
    def sha256(self) -> str:
        self._settle()
        return self._hash.hexdigest()

    def finish(self) -> None:
        self._settle()
        if self._hasher is not None:
            self._hasher.shutdown()
            self._hasher = None
        if self._file is not None:
            self._file.close()

    def discard(self) -> None:
        self.finish()
        self.path.unlink(missing_ok=True)

    def _settle(self) -> None:
        """Wait for the chunk being hashed."""
        if self._hashing is not None:
            self._hashing.result()
            self._hashing = None


def sole_regular_file(path: Path) -> bool:
    """A plain file with no other name: safe to take over (chmod and rename) as a blob."""
    status = os.lstat(path)
    return stat.S_ISREG(status.st_mode) and status.st_nlink == 1


def umask() -> int:
    """The process's umask (read from /proc: setting it to read it back would race other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return time.time()


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temp(tmp: Path, max_age: float = STALE_TEMP_SECONDS) -> int:
    """Temp files older than max_age whose writing process has ended (it died mid-write)."""
    cutoff = time.time() - max_age
    removed = 0
    for path in tmp.iterdir():
        writer_pid = path.name.split("-", 1)[0]
        if mtime(path) < cutoff and not (writer_pid.isdigit() and running(int(writer_pid))):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def keep_private(folder: Path) -> None:
    """A folder open to its owner alone: the local cache's index names servers, ids and files, and an image id
    fetches the image from a server without API keys. One left looser (made by hand, or by an older client) is
    tightened with a warning; one that belongs to another user is refused."""
    found = folder.stat()
    if found.st_uid != os.getuid():
        raise PermissionError(f"the local cache at {folder} belongs to another user: choose a folder of your own")
    mode = stat.S_IMODE(found.st_mode)
    if mode & 0o077:
        folder.chmod(0o700)
        log.warning("the local cache at %s was open to other users (mode %o); it is now 0700", folder, mode)


def private_file(path: Path) -> None:
    """A file read and written by its owner alone, made so if it is not (never through a link)."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)

"""Blobs as files under one root: the embedded default.

A write goes to a temporary file in the same filesystem and is renamed into
place, so readers never see a partial blob and a reader already streaming the
old file keeps its bytes (the rename only swaps the directory entry).
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

from imagecache.blobs.store import (
    CHUNK,
    BlobInfo,
    BlobNotFound,
    HashingReader,
    StorageFull,
    StorageUnavailable,
    check_key,
)

_TMP = ".tmp"


class FilesystemBlobStore:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self._tmp = self.root / _TMP
        self._tmp.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """The file for key; refuses anything that would resolve outside the root."""
        path = (self.root / check_key(key)).resolve()
        if self.root not in path.parents or path.is_relative_to(self._tmp):
            raise ValueError(f"invalid blob key: {key!r}")
        return path

    def put(self, key: str, stream: BinaryIO, content_type: str) -> BlobInfo:
        target = self.path(key)
        reader = HashingReader(stream)
        try:
            fd, tmp = tempfile.mkstemp(dir=self._tmp)
        except OSError as exc:
            raise _storage_error(exc) from exc
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(reader, out, CHUNK)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
        except BaseException as exc:
            _discard(tmp)
            if isinstance(exc, OSError):
                raise _storage_error(exc) from exc
            raise
        return reader.info()

    def open(self, key: str, start: int = 0, length: int | None = None) -> BinaryIO:
        try:
            handle = open(self.path(key), "rb")
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        except OSError as exc:
            raise _storage_error(exc) from exc
        handle.seek(start)
        return FileSlice(handle, length)

    def delete(self, key: str) -> None:
        try:
            self.path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise _storage_error(exc) from exc

    def check(self) -> None:
        if not os.access(self._tmp, os.W_OK):
            raise StorageUnavailable(f"storage root {self.root} is not writable")

    def sweep(self, older_than: float) -> int:
        cutoff = time.time() - older_than
        removed = 0
        for entry in os.scandir(self._tmp):
            if entry.stat().st_mtime < cutoff:
                _discard(entry.path)
                removed += 1
        return removed


class FileSlice:
    """A file from its current offset, at most `length` bytes of it.

    It keeps `fileno()`, so gunicorn sends it with sendfile (bounded by the
    response's Content-Length) instead of copying it through Python.
    """

    def __init__(self, handle: BinaryIO, length: int | None) -> None:
        self._handle = handle
        self._left = length

    def fileno(self) -> int:
        return self._handle.fileno()

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """socket.sendfile seeks to the offset gunicorn read off the descriptor."""
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()

    def read(self, size: int = -1) -> bytes:
        if self._left is None:
            return self._handle.read(size)
        wanted = self._left if size < 0 else min(size, self._left)
        data = self._handle.read(wanted)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._handle.close()


def _discard(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _storage_error(exc: OSError) -> Exception:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageFull("storage is full")
    return StorageUnavailable(f"storage error: {exc.strerror or exc}")

"""Blobs as files under one root: the embedded default.

A write goes to a temporary file in the same filesystem and is renamed into
place, so readers never see a partial blob and a reader already streaming the
old file keeps its bytes (the rename only swaps the directory entry).

A blob's metadata (what its index entry is rebuilt from) is a `.meta` sidecar
file beside it, which survives any copy of the folder. Blobs the cache can
produce again (under the `reproducible` key prefixes) carry it on their own
file instead, as the extended attribute `user.imagecache`: one file per
result, not two, and creating a file is most of what a put costs. A copy that
drops attributes loses that metadata, and reindexing then counts those blobs
as unknown; where the filesystem takes no attribute, the sidecar is written.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import random
import shutil
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from stat import S_ISREG
from typing import BinaryIO

from imagecache.blobs.streams import CHUNK, HashingReader, check_key
from imagecache.domain.errors import BlobNotFound, StorageFull, StorageUnavailable
from imagecache.domain.ports import BlobInfo, BlobReader, Readable, StoredBlob

log = logging.getLogger(__name__)

_TMP = ".tmp"
_META = ".meta"
_ATTRIBUTE = "user.imagecache"
# a filesystem without user attributes (ENOTSUP), or without room for this one beside the inode (ENOSPC, E2BIG)
_NO_ATTRIBUTE = (errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSPC, errno.E2BIG, errno.ERANGE)
_MOST_DESCRIBED = 1 << 20  # a sidecar is read this far at most: metadata is a few hundred bytes
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO never waits for a writer, nor a file under another's lease for its break (then a
# 503 at once, not a web process held for up to the kernel's 45 s); a regular file's reads ignore it
_READ = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY


class FilesystemBlobStore:
    def __init__(
        self, root: str | os.PathLike[str], reproducible: tuple[str, ...] = (), folders: tuple[str, ...] = ()
    ) -> None:
        """`folders`: made now where missing (`_make_folders`)."""
        self.root = Path(root).resolve()
        self._reproducible = reproducible
        self._tmp = self.root / _TMP
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._inside = str(self.root) + os.sep
        self._tmp_inside = str(self._tmp) + os.sep
        self._make_folders(folders)

    def _make_folders(self, folders: tuple[str, ...]) -> None:
        """So that no put pays for its folder too: where a new inode is dear (a journal-less ext4 checks each
        recently freed one first), folders made by a new cache's first results cost them up to a quarter of their
        worker's CPU. Those present are read off one listing of their parent. Only a saving: one that cannot be
        made now (a full disk, a link leading out) is left to the put that needs it, which answers for it."""
        listed: dict[str, set[str]] = {}
        failed: list[str] = []
        for folder in folders:
            try:
                parent, _, name = check_key(folder).rpartition("/")
                if parent not in listed:
                    listed[parent] = _names_in(self._inside + parent)
                if name not in listed[parent]:
                    os.makedirs(self.path(folder), exist_ok=True)
            except (OSError, ValueError) as exc:
                failed.append(f"{folder}: {exc}")
        if failed:
            log.warning("storage: %d of %d folders not made in advance, first %s", len(failed), len(folders), failed[0])

    def path(self, key: str) -> Path:
        """The file for key (to write or delete); refuses anything that would resolve outside the root (symbolic
        links followed)."""
        resolved = os.path.realpath(self._inside + check_key(key))
        self._check_inside(resolved, key)
        return Path(resolved)

    def _check_inside(self, resolved: str, key: str) -> None:
        if not resolved.startswith(self._inside) or (resolved + os.sep).startswith(self._tmp_inside):
            raise ValueError(f"invalid blob key: {key!r}")

    def put(self, key: str, stream: Readable, content_type: str, metadata: Mapping[str, str] | None = None) -> BlobInfo:
        """The metadata is in place before the blob appears: on its file, or in its sidecar (see the module). Each
        file is written through the descriptor that created it: reopening it with O_TRUNC would make ext4 flush it
        to disk on close (its guard for truncate-then-rewrite)."""
        target = self.path(key)
        reader = HashingReader(stream)
        with self._temporary() as (out, tmp):
            shutil.copyfileobj(reader, out, CHUNK)
            out.flush()  # a write that fails (a full disk) fails here, before any metadata is in place
            described = json.dumps(
                {"content_type": content_type, "sha256": reader.info().sha256, **(metadata or {})}
            ).encode()
            attributed = key.startswith(self._reproducible) and _describe(out.fileno(), described)
            out.close()
            if attributed:
                _move(tmp, target)
            else:
                self._put_beside(target, tmp, described)
        return reader.info()

    def _put_beside(self, target: Path, tmp: str, described: bytes) -> None:
        """The blob at `tmp` moved into place after its sidecar; a sidecar whose blob could not follow it is taken
        back, so no metadata is ever left without its blob."""
        with self._temporary() as (meta, tmp_meta):
            meta.write(described)
            meta.close()
            _move(tmp_meta, _sidecar(target))
        try:
            _move(tmp, target)
        except BaseException:
            _discard(str(_sidecar(target)))
            raise

    @contextmanager
    def _temporary(self) -> Iterator[tuple[BinaryIO, str]]:
        """A new temporary file, open for writing, and its name; removed again unless the body moved it into
        place."""
        try:
            fd, tmp = self._create()
        except OSError as exc:
            raise _storage_error(exc) from exc
        try:
            with os.fdopen(fd, "wb") as out:
                yield out, tmp
        except OSError as exc:
            _discard(tmp)
            raise _storage_error(exc) from exc
        except BaseException:
            _discard(tmp)
            raise

    def _create(self) -> tuple[int, str]:
        """A new file under a random name in the temporary folder, as `tempfile.mkstemp` makes one at a fraction
        of its cost (a result's put makes two): `random` is reseeded in every forked child, so processes never
        draw the same names, and a name taken already is simply drawn again."""
        while True:
            tmp = f"{self._tmp_inside}{random.getrandbits(64):016x}"
            try:
                return os.open(tmp, _NEW_FILE, 0o600), tmp
            except FileExistsError:
                continue

    def open(self, key: str, start: int = 0, length: int | None = None) -> BlobReader:
        """Opened, then asked where it is: a link swapped in after a check made before the open could lead out of
        the root, and the kernel answers in one system call what resolving the name costs one per folder. Only
        a regular file is a blob: a FIFO planted in the root never holds the open."""
        name = self._inside + check_key(key)
        try:
            fd = os.open(name, _READ)
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        except OSError as exc:
            raise _storage_error(exc) from exc
        try:
            self._check_inside(_opened_path(fd, name), key)
            if not S_ISREG(os.fstat(fd).st_mode):  # a folder, a FIFO: no blob, as `blobs` lists none
                raise BlobNotFound(key)
        except BaseException:
            os.close(fd)
            raise
        handle = open(fd, "rb")
        handle.seek(start)
        return FileSlice(handle, length)

    def delete(self, key: str) -> None:
        path = self.path(key)
        try:
            path.unlink(missing_ok=True)
            _sidecar(path).unlink(missing_ok=True)
        except OSError as exc:
            raise _storage_error(exc) from exc

    def blobs(self) -> Iterator[StoredBlob]:
        """Every blob, symbolic links and anything but files left out; one whose metadata is lost (a copy that
        dropped attributes) comes with none, for its reader to count. What cannot be read is logged."""
        for folder, dirs, names in os.walk(self.root, onerror=_unreadable):
            dirs[:] = [d for d in dirs if d != _TMP]
            for name in names:
                if not name.endswith(_META):
                    blob = self._stored(Path(folder) / name)
                    if blob is not None:
                        yield blob

    def _stored(self, path: Path) -> StoredBlob | None:
        """The blob at path, its size and metadata read through one descriptor; None for anything but a file."""
        opened = _open_file(path)
        if opened is None:
            return None
        fd, stat = opened
        try:
            metadata = _description(fd, path)
        finally:
            os.close(fd)
        return StoredBlob(
            key=path.relative_to(self.root).as_posix(),
            size=stat.st_size,
            etag=str(metadata.pop("sha256", "")),
            content_type=str(metadata.pop("content_type", "application/octet-stream")),
            modified=stat.st_mtime,
            metadata=metadata,
        )

    def check(self) -> None:
        if not os.access(self._tmp, os.W_OK):
            raise StorageUnavailable(f"storage root {self.root} is not writable")

    def sweep(self, older_than: float) -> int:
        cutoff = time.time() - older_than
        removed = 0
        for entry in os.scandir(self._tmp):
            try:
                stale = entry.stat().st_mtime < cutoff
            except FileNotFoundError:  # a writer renamed it into place meanwhile
                continue
            if stale:
                _discard(entry.path)
                removed += 1
        return removed


def _opened_path(fd: int, name: str) -> str:
    """Where an open file is, as the kernel has it; without /proc, its name with every link resolved."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return os.path.realpath(name)


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

    def read(self, size: int | None = -1, /) -> bytes:
        if size is None:
            size = -1
        if self._left is None:
            return self._handle.read(size)
        wanted = self._left if size < 0 else min(size, self._left)
        data = self._handle.read(wanted)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._handle.close()


def _describe(fd: int, described: bytes) -> bool:
    """Whether the file now carries its metadata; False where the filesystem takes no extended attribute this
    size (the caller writes a sidecar)."""
    try:
        os.setxattr(fd, _ATTRIBUTE, described)
    except OSError as exc:
        if exc.errno in _NO_ATTRIBUTE:
            return False
        raise
    return True


def _description(fd: int, path: Path) -> dict[str, str]:
    """A blob's metadata: its attribute, else its sidecar (a blob the cache cannot produce again, a filesystem
    without attributes, a store written before attributes were used); empty when neither can be read."""
    try:
        described = os.getxattr(fd, _ATTRIBUTE)
    except OSError:
        opened = _open_file(_sidecar(path))
        if opened is None:
            return {}
        sidecar, _ = opened
        with os.fdopen(sidecar, "rb") as file:
            described = file.read(_MOST_DESCRIBED)
    try:
        metadata = json.loads(described)
    except ValueError:
        return {}
    return metadata if isinstance(metadata, dict) else {}


def _open_file(path: Path) -> tuple[int, os.stat_result] | None:
    """A descriptor on path and its status, if it is a regular file: never a link followed, a FIFO waited on or a
    terminal taken. What exists but cannot be opened is logged."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ELOOP, errno.ENXIO):  # gone, a link, a socket
            _unreadable(exc)
        return None
    stat = os.fstat(fd)
    if S_ISREG(stat.st_mode):
        return fd, stat
    os.close(fd)
    return None


def _unreadable(exc: OSError) -> None:
    log.warning("storage: cannot read %s: %s", exc.filename, exc.strerror)


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + _META)


def _move(source: str, target: Path) -> None:
    """Rename into place, making the target's folder only when it is missing (most results land in one that
    exists: a `mkdir` each would be a wasted system call)."""
    try:
        os.replace(source, target)
    except FileNotFoundError:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)


def _names_in(folder: str) -> set[str]:
    try:
        return set(os.listdir(folder))
    except OSError:  # missing, or no folder: each is made, or fails, on its own
        return set()


def _discard(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _storage_error(exc: OSError) -> Exception:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageFull("storage is full")
    return StorageUnavailable(f"storage error: {exc.strerror or exc}")

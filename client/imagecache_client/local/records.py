"""What the local cache holds and hands out: records of images and files, listings, gc reports."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TypeVar

from imagecache_client.errors import NoLocalCopy

log = logging.getLogger("imagecache.client")


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


Record = TypeVar("Record", "LocalImage", "LocalFile")


def from_row(kind: type[Record], row: sqlite3.Row, path: Path) -> Record:
    """A LocalImage or LocalFile from its index row (the columns are named as the fields) and its blob's path."""
    values = {field.name: row[field.name] for field in fields(kind) if field.name != "path"}
    return kind(**values, path=path)


def offline_copy(exc: Exception, copy: Fetched | None, missing: str) -> Fetched:
    """What a call falls back on when the server cannot be asked: the local copy, with a warning."""
    message = getattr(exc, "message", str(exc))
    if copy is None:
        raise NoLocalCopy(f"{message}; {missing}") from exc
    log.warning("%s; using the local copy %s", message, copy.path)
    return copy

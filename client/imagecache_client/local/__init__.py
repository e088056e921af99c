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

from imagecache_client.local.blob_files import BlobWriter
from imagecache_client.local.cache import DEFAULT_MAX_BYTES, KEEP_RECENT, LocalCache, default_root
from imagecache_client.local.records import Collected, Fetched, Listed, LocalFile, LocalImage, offline_copy

__all__ = [
    "DEFAULT_MAX_BYTES",
    "KEEP_RECENT",
    "BlobWriter",
    "Collected",
    "Fetched",
    "Listed",
    "LocalCache",
    "LocalFile",
    "LocalImage",
    "default_root",
    "offline_copy",
]

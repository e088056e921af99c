"""A new blob's life before its record points at it: never orphaned, whatever fails meanwhile.

A new blob is garbage until the script that indexes it takes it out of the
garbage set, so a crash of this process or an outage between storing and
indexing leaves a blob that maintenance collects, never one nobody knows of.
"""

from __future__ import annotations

from dataclasses import dataclass

from imagecache.domain.errors import StorageError
from imagecache.domain.outages import through_outage
from imagecache.domain.ports import BlobGarbage, BlobStore
from imagecache.services.capacity import Capacity

ORPHAN_GRACE = 60.0  # a new blob whose index write gave up is collected this long after


@dataclass(frozen=True)
class BlobKeeping:
    """The blobs, as the services that store and remove them see them: the store, the garbage set of blobs to
    delete, and the capacity that evicts to make room."""

    blobs: BlobStore
    garbage: BlobGarbage
    capacity: Capacity


def mark_until_indexed(garbage: BlobGarbage, blobs: BlobStore, key: str, *, now: float, hold_seconds: float) -> None:
    """Put a new blob in the garbage set until it is indexed. The index away for good already: the blob goes
    at once (and the outage is raised)."""
    try:
        through_outage(lambda: garbage.add(key, due=now + hold_seconds + ORPHAN_GRACE), hold_seconds)
    except Exception:
        blobs.delete(key)
        raise


def discard(garbage: BlobGarbage, blobs: BlobStore, key: str, *, now: float) -> None:
    """Drop a blob no record points at; maintenance deletes it later if storage is down now."""
    try:
        blobs.delete(key)
    except StorageError:
        garbage.add(key, due=now)

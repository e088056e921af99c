"""Reindexer: rebuilds the Redis index from the blobs, after Redis lost its data.

Every blob is stored with the metadata its index entry needs (see
domain/blob_metadata.py), so an empty Redis loses only what was pending: active
images and /v1 files are indexed again, in place.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from imagecache.domain.entry_record import EntryRecord, Status
from imagecache.domain.file_record import FileRecord
from imagecache.domain.ports import BlobGarbage, BlobStore, EntryUpkeep, FileIndex, StoredBlob
from imagecache.services.content_hash import content_sha256
from imagecache.services.file_cache import FILE_TTL
from imagecache_client.ids import EntryId

log = logging.getLogger(__name__)
_MALFORMED = (KeyError, TypeError, ValueError)  # metadata that is not what we write: its blob is counted unknown


@dataclass
class ReindexReport:
    images: int = 0
    files: int = 0
    expired: int = 0
    unknown: int = 0

    def __str__(self) -> str:
        return (
            f"reindexed {self.images} images and {self.files} files "
            f"({self.expired} expired, {self.unknown} without imagecache metadata)"
        )


class Reindexer:
    def __init__(
        self,
        entries: EntryUpkeep,
        files: FileIndex,
        blobs: BlobStore,
        garbage: BlobGarbage,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._entries = entries
        self._files = files
        self._blobs = blobs
        self._garbage = garbage
        self._clock = clock

    def run(self) -> ReindexReport:
        report = ReindexReport()
        newest: dict[str, StoredBlob] = {}
        now = self._clock()
        for blob in self._blobs.blobs():
            try:
                self._sort(blob, newest, now, report)
            except _MALFORMED:
                report.unknown += 1
        for blob in newest.values():
            try:
                record = self._file_record(blob, now)
            except _MALFORMED:
                report.unknown += 1
                continue
            report.files += self._files.adopt(record)
        log.info("reindex: %s", report)
        if report.unknown:
            log.warning(
                "reindex: %d blobs carry no imagecache metadata and were left as they are: if CACHE_PATH was copied, "
                "the copy may have dropped extended attributes (copy it with rsync -aX, cp -a --preserve=xattr or tar "
                "--xattrs on both ends, then reindex again)",
                report.unknown,
            )
        return report

    def _sort(self, blob: StoredBlob, newest: dict[str, StoredBlob], now: float, report: ReindexReport) -> None:
        kind = blob.metadata.get("kind")
        if kind == "image":
            self._image(blob, now, report)
        elif kind == "file":
            self._keep_newest(newest, blob, now)
        else:
            report.unknown += 1

    def _image(self, blob: StoredBlob, now: float, report: ReindexReport) -> None:
        entry_id = blob.metadata.get("entry_id", "")
        parsed = EntryId.parse(entry_id)
        job = blob.metadata.get("job", "")
        if parsed is None:
            report.unknown += 1
            return
        if parsed.expires_at <= now or not job or not EntryRecord.is_result_key(entry_id, blob.key):
            # expired, or naming no kind or no attempt key of its entry: no entry could serve it
            self._garbage.add(blob.key, due=now)
            report.expired += 1
            return
        created = float(blob.metadata.get("created_at", now))
        entry = EntryRecord(
            id=entry_id,
            status=Status.ACTIVE,
            created_at=created,
            expires_at=parsed.expires_at,
            query="",
            content_type=blob.content_type,
            size=blob.size,
            etag=content_sha256(self._blobs, blob),
            completed_at=float(blob.metadata.get("completed_at", created)),
            blob_key=blob.key,
            job=job,
        )
        if self._entries.adopt(entry):
            report.images += 1
        else:  # another attempt's result for the same entry was adopted first
            self._garbage.add(blob.key, due=now)

    def _keep_newest(self, newest: dict[str, StoredBlob], blob: StoredBlob, now: float) -> None:
        """A file replaced shortly before Redis was lost has two blobs: the newer one wins."""
        cache_id = blob.metadata.get("cache_id", "")
        current = newest.get(cache_id)
        older: StoredBlob | None = blob
        if current is None or _updated(blob) > _updated(current):
            newest[cache_id] = blob
            older = current
        if older is not None:
            self._garbage.add(older.key, due=now)

    def _file_record(self, blob: StoredBlob, now: float) -> FileRecord:
        meta = blob.metadata
        return FileRecord(
            cache_id=meta["cache_id"],
            token_id=meta["token_id"],
            filename=meta.get("filename", "file"),
            content_type=blob.content_type,
            size=blob.size,
            etag=content_sha256(self._blobs, blob),
            blob_key=blob.key,
            created_at=float(meta.get("created_at", now)),
            updated_at=_updated(blob),
            expires_at=now + FILE_TTL,  # downloads since the upload are not in the blob: a fresh 30 days
            placeholder=False,
        )


def _updated(blob: StoredBlob) -> float:
    return float(blob.metadata.get("updated_at", blob.modified))

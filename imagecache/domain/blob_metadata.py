"""What every blob carries so its index entry can be rebuilt from storage (see reindex.py)."""

from __future__ import annotations

from imagecache.domain.entry_record import EntryRecord
from imagecache.domain.file_record import FileRecord


def image_metadata(entry: EntryRecord, now: float) -> dict[str, str]:
    return {
        "kind": "image",
        "entry_id": entry.id,
        "job": entry.job,
        "created_at": repr(entry.created_at),
        "completed_at": repr(now),
    }


def file_metadata(record: FileRecord, *, filename: str, now: float) -> dict[str, str]:
    return {
        "kind": "file",
        "cache_id": record.cache_id,
        "token_id": record.token_id,
        "filename": filename,
        "created_at": repr(record.created_at),
        "updated_at": repr(now),
    }

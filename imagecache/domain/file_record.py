"""FileRecord: one /v1 cache (a placeholder or a file), and KBase's cache ids.

Cache ids are the ones KBase's CachingService computes, so its users keep their ids.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

_FIELDS = (
    "cache_id",
    "token_id",
    "filename",
    "content_type",
    "size",
    "etag",
    "blob_key",
    "created_at",
    "updated_at",
    "expires_at",
    "placeholder",
)


class Replaced(str, enum.Enum):
    """What pointing a cache at a new blob came to."""

    OK = "ok"
    MISSING = "missing"
    FORBIDDEN = "forbidden"


@dataclass(frozen=True)
class FileRecord:
    cache_id: str
    token_id: str
    filename: str
    content_type: str
    size: int
    etag: str
    blob_key: str
    created_at: float
    updated_at: float
    expires_at: float
    placeholder: bool

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> FileRecord:
        return cls(
            cache_id=fields["cache_id"],
            token_id=fields["token_id"],
            filename=fields["filename"],
            content_type=fields["content_type"],
            size=int(fields["size"]),
            etag=fields["etag"],
            blob_key=fields["blob_key"],
            created_at=float(fields["created_at"]),
            updated_at=float(fields["updated_at"]),
            expires_at=float(fields["expires_at"]),
            placeholder=fields["placeholder"] == "1",
        )

    def to_fields(self) -> dict[str, str]:
        values = {name: getattr(self, name) for name in _FIELDS}
        values["placeholder"] = int(self.placeholder)
        return {name: str(value) for name, value in values.items()}


def cache_id_for(token_id: str, params: Any) -> str:
    """blake2b of `token_id + "\\n" + json.dumps(params, sort_keys=True)`, as KBase computes it."""
    text = token_id + "\n" + json.dumps(params, sort_keys=True)
    return hashlib.blake2b(text.encode()).hexdigest()


CACHE_ID_PATTERN = r"^[0-9a-f]{128}$"
"""A /v1 cache id (cache_id_for): a blake2b digest, in hex."""
_CACHE_ID = re.compile(CACHE_ID_PATTERN)


def is_cache_id(text: str) -> bool:
    return _CACHE_ID.fullmatch(text) is not None

"""Entry ids: `sha256(canonical query)` + `_` + expiry in unix seconds.

The id is the only thing a client holds, so it is parsed strictly: nothing
that does not match the exact shape ever reaches a store or a path.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

ENTRY_ID_PATTERN = r"^[0-9a-f]{64}_[0-9]{1,11}(\.[0-9]{1,9})?$"
"""An entry id, exactly (a regular expression both Python and JSON Schema read the same way)."""
_ID = re.compile(ENTRY_ID_PATTERN)


def canonical_json(value: Any) -> str:
    """One text per JSON value: key order and whitespace never change an id."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def query_digest(query: Any, job: str | None = None) -> str:
    """The digest of a query for the deployment's default job kind (job None), or for the named kind. A named
    kind's text starts with `job:<name>` and a newline, which no JSON text does, so no query of one kind hashes
    like a query of another, whatever the query holds."""
    return canonical_digest(canonical_json(query).encode("utf-8"), job)


def canonical_digest(canonical: bytes, job: str | None = None) -> str:
    """query_digest of a query already in canonical JSON (UTF-8), for callers that keep the text too."""
    prefix = b"" if job is None else f"job:{job}\n".encode()
    return hashlib.sha256(prefix + canonical).hexdigest()


@dataclass(frozen=True)
class EntryId:
    digest: str
    expires_at: float

    def __str__(self) -> str:
        return f"{self.digest}_{format_expiry(self.expires_at)}"

    @classmethod
    def parse(cls, text: str) -> EntryId | None:
        """The id, or None for anything that is not exactly an id."""
        if _ID.fullmatch(text) is None:
            return None
        digest, _, expiry = text.partition("_")
        return cls(digest, float(expiry))


def format_expiry(expires_at: float) -> str:
    """Microsecond precision, as the seed's ids (`1622181773.873009`)."""
    return f"{expires_at:.6f}".rstrip("0").rstrip(".")

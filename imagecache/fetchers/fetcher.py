"""The small interface every producer of results implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

MIME_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
}


@dataclass(frozen=True)
class Fetched:
    content_type: str
    data: bytes
    attempts: int = 1


class FetchError(Exception):
    """A fetch that ended without a result.

    `definitive` failures (the upstream refused the query) are remembered for
    the entry's whole life; others are retried by a later request after
    ERROR_TTL.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "Kentik API error",
        definitive: bool = False,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.definitive = definitive
        self.attempts = attempts


class Fetcher(Protocol):
    name: str

    def fetch(self, query: Any) -> Fetched:
        """The result for query, or raise FetchError."""

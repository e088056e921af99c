"""The public shapes of a job kind: what it is given, what it returns, how it fails."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from imagecache.domain.errors import FetchError


@dataclass(frozen=True)
class JobResult:
    """A result: bytes in memory, or the path of a file the job wrote (streamed into the store, then removed)."""

    content_type: str
    data: bytes = b""
    path: str | os.PathLike[str] | None = None


class JobError(FetchError):
    """A run that ends without a result. `status` is what GET /image answers; a `definitive` error (the query
    itself is wrong) is kept for the entry's life, any other is retried within the run (`retries`, waiting at
    least `retry_after`; not with `retry_at_once=False`: the same answer would come again), then after
    ERROR_TTL."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        definitive: bool = False,
        retry_after: float | None = None,
        retry_at_once: bool = True,
    ) -> None:
        super().__init__(
            status,
            message,
            kind="job error",
            definitive=definitive,
            retry_after=retry_after,
            retry_at_once=retry_at_once,
        )


@dataclass(frozen=True)
class JobKind:
    """One kind of job and how it may run. `validate`, when given, runs on the web host at POST: a JobError it
    raises is the POST's answer (a 400 for a bad query), and nothing is queued."""

    run: Callable[[Any], JobResult]
    validate: Callable[[Any], None] | None = None
    timeout: int = 60
    retries: int = 0
    concurrency: int = 16
    default_ttl: int | None = None  # None: the deployment's DEFAULT_TTL
    description: str = ""

    def __post_init__(self) -> None:
        """A kind that could never run (no slot, no time) is refused where it is made: the catalog leaves it out,
        naming it, instead of every request for it failing later."""
        for name, least in (("timeout", 1), ("retries", 0), ("concurrency", 1), ("default_ttl", 1)):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < least):
                raise ValueError(f"JobKind {name} must be an integer of at least {least}, not {value!r}")

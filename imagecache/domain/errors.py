"""The domain's failures, raised by services and by the adapters behind the ports.

Web resources turn each into a status; which of them are outages (a 503 and
a maintenance pass retried) is outages.py's business.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base of storage failures; `status` is the HTTP status that reports it."""

    status = 503


class StorageUnavailable(StorageError):
    status = 503


class StorageFull(StorageError):
    status = 507


class BlobNotFound(StorageError):
    status = 404


class SourceInterrupted(Exception):
    """Reading the bytes to store failed (a client went away): not a storage fault."""


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
        retry_after: float | None = None,
        retry_at_once: bool = True,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.definitive = definitive
        self.attempts = attempts
        self.retry_after = retry_after  # the least wait before trying again, when the source said
        self.retry_at_once = retry_at_once  # False: trying again within the run would meet the same answer


class UnknownJob(Exception):
    """A request names a job kind no live worker runs."""

    def __init__(self, name: str, served: list[str]) -> None:
        listed = ", ".join(served) or "none"
        super().__init__(f"job {name!r} is not served here; served: {listed}")
        self.name = name
        self.served = served


class InvalidCallback(Exception):
    """A callback_url the service may not call; the message says why."""


class TooManyTags(Exception):
    """A request's tags would take an entry past the most it carries; nothing was changed."""

    def __init__(self, carried: int, most: int) -> None:
        super().__init__(f"an entry carries at most {most} tags; with these it would carry {carried}")


class QueryTooLarge(Exception):
    """A query whose canonical JSON is larger than the index keeps (QUERY_MAX_BYTES)."""

    def __init__(self, size: int, most: int) -> None:
        super().__init__(f"the query is {size} bytes as canonical JSON; QUERY_MAX_BYTES is {most}")


class QuotaExceeded(Exception):
    """A request that would start a production its tenant's quota has no room for; nothing was changed."""

    def __init__(self, tenant: str, quota: str, limit: int, retry_after: int) -> None:
        who = f"tenant {tenant!r}" if tenant else "this service"
        if limit:
            super().__init__(f"{who} is at its {quota} quota ({limit}); try again in {retry_after} s")
        else:
            super().__init__(f"{who} may start no new results: its {quota} quota is 0")
        self.quota = quota
        self.retry_after = retry_after


class InvalidToken(Exception):
    pass


class AuthUnavailable(Exception):
    """The auth service cannot answer; the request must not go through."""


class CacheNotFound(Exception):
    pass


class CacheForbidden(Exception):
    pass


class ChecksumMismatch(Exception):
    pass


class UploadTooLarge(Exception):
    pass


class CannotFit(Exception):
    """Larger than CACHE_MAX_BYTES: no eviction could make room."""

"""Which failures are outages: a dependency that cannot be reached or is not serving.

An outage is answered 503 with Retry-After and stops a maintenance pass (the
next one retries); every other failure is a bug in us or in the data, a 500
that is logged with its message, and one item's bug never stops a pass.
"""

from __future__ import annotations

from redis.exceptions import (
    ClusterDownError,
    ConnectionError,
    ReadOnlyError,
    ResponseError,
    TimeoutError,
    TryAgainError,
)

from imagecache.blobs import StorageUnavailable

# Unreachable, or not serving: loading its data (a ConnectionError), a replica, failing over (MASTERDOWN is a
# ClusterDownError), or busy in a long script (a plain ResponseError that says BUSY).
_OUTAGES = (ConnectionError, TimeoutError, ReadOnlyError, ClusterDownError, TryAgainError, StorageUnavailable)


def is_outage(exc: BaseException) -> bool:
    return isinstance(exc, _OUTAGES) or (isinstance(exc, ResponseError) and str(exc).startswith("BUSY "))

"""Which failures are outages: a dependency that cannot be reached or is not serving.

An outage is answered 503 with Retry-After and stops a maintenance pass (the
next one retries); every other failure is a bug in us or in the data, a 500
that is logged with its message, and one item's bug never stops a pass.
"""

from __future__ import annotations

from redis import exceptions as redis_errors

from imagecache.blobs import StorageUnavailable

# Unreachable, or not serving: loading its data (a ConnectionError), a replica, failing over (MASTERDOWN is a
# ClusterDownError), or refusing work for now: busy in a long script, out of memory, unable to persist, short of
# replicas (plain ResponseErrors that say so first).
_OUTAGES = (redis_errors.ConnectionError, redis_errors.TimeoutError, redis_errors.ReadOnlyError,
            redis_errors.ClusterDownError, redis_errors.TryAgainError, StorageUnavailable)
_REFUSING = ("BUSY ", "OOM ", "MISCONF ", "NOREPLICAS ")


def is_outage(exc: BaseException) -> bool:
    if isinstance(exc, _OUTAGES):
        return True
    return isinstance(exc, redis_errors.ResponseError) and str(exc).startswith(_REFUSING)

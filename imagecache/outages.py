"""Which failures are outages: a dependency that cannot be reached or is not serving.

An outage is answered 503 with Retry-After and stops a maintenance pass (the
next one retries); every other failure is a bug in us or in the data, a 500
that is logged with its message, and one item's bug never stops a pass.
"""

from __future__ import annotations

import re

from redis import exceptions as redis_errors

from imagecache.blobs import StorageUnavailable

# Unreachable, or not serving: loading its data (a ConnectionError), a replica, failing over (MASTERDOWN is a
# ClusterDownError), out of memory, or refusing work for now. redis-py gives a class to some of these replies;
# the rest, and any of them met inside a script (Redis 6 wraps those as "Error running script ...: -READONLY
# ..."), are plain ResponseErrors whose text carries the reply's code.
_OUTAGES = (redis_errors.ConnectionError, redis_errors.TimeoutError, redis_errors.ReadOnlyError,
            redis_errors.ClusterDownError, redis_errors.TryAgainError, redis_errors.OutOfMemoryError,
            StorageUnavailable)
_NOT_SERVING = frozenset({"LOADING", "BUSY", "READONLY", "MASTERDOWN", "OOM", "MISCONF", "NOREPLICAS", "TRYAGAIN",
                          "CLUSTERDOWN"})
_REPLY_CODE = re.compile(r"(?:^|: -)([A-Z]+) ")


def is_outage(exc: BaseException) -> bool:
    if isinstance(exc, _OUTAGES):
        return True
    return isinstance(exc, redis_errors.ResponseError) and not _NOT_SERVING.isdisjoint(_REPLY_CODE.findall(str(exc)))

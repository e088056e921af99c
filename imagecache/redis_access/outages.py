"""How Redis says it is unreachable or not serving (the composition root registers it with domain/outages.py)."""

from __future__ import annotations

import re

from redis import exceptions as redis_errors

# Unreachable, or not serving: loading its data (a ConnectionError), a replica, failing over (MASTERDOWN is a
# ClusterDownError), out of memory, or refusing work for now. redis-py gives a class to some of these replies;
# the rest, and any of them met inside a script (Redis 6 wraps those as "Error running script ...: -READONLY
# ..."), are plain ResponseErrors whose text carries the reply's code.
_OUTAGES = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.ReadOnlyError,
    redis_errors.ClusterDownError,
    redis_errors.TryAgainError,
    redis_errors.OutOfMemoryError,
)
_NOT_SERVING = frozenset(
    {"LOADING", "BUSY", "READONLY", "MASTERDOWN", "OOM", "MISCONF", "NOREPLICAS", "TRYAGAIN", "CLUSTERDOWN"}
)
_REPLY_CODE = re.compile(r"(?:^|: -)([A-Z]+) ")


def redis_outage(exc: BaseException) -> bool:
    if isinstance(exc, _OUTAGES):
        return True
    return isinstance(exc, redis_errors.ResponseError) and not _NOT_SERVING.isdisjoint(_REPLY_CODE.findall(str(exc)))

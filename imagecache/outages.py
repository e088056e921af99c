"""Which failures are outages: a dependency that cannot be reached or is not serving.

An outage is answered 503 with Retry-After and stops a maintenance pass (the
next one retries); every other failure is a bug in us or in the data, a 500
that is logged with its message, and one item's bug never stops a pass.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TypeVar

from redis import exceptions as redis_errors
from tenacity import Retrying, before_sleep_log, retry_if_exception, stop_after_delay, wait_exponential

from imagecache.blobs import StorageUnavailable

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
    StorageUnavailable,
)
_NOT_SERVING = frozenset(
    {"LOADING", "BUSY", "READONLY", "MASTERDOWN", "OOM", "MISCONF", "NOREPLICAS", "TRYAGAIN", "CLUSTERDOWN"}
)
_REPLY_CODE = re.compile(r"(?:^|: -)([A-Z]+) ")

log = logging.getLogger(__name__)
T = TypeVar("T")


def is_outage(exc: BaseException) -> bool:
    if isinstance(exc, _OUTAGES):
        return True
    return isinstance(exc, redis_errors.ResponseError) and not _NOT_SERVING.isdisjoint(_REPLY_CODE.findall(str(exc)))


def through_outage(write: Callable[[], T], seconds: float) -> T:
    """A write whose work is already done (a result fetched, an upload stored), tried again with backoff
    while its dependency is out, for up to `seconds`; then the outage is raised."""
    retrying = Retrying(
        retry=retry_if_exception(is_outage),
        wait=wait_exponential(multiplier=0.1, max=2),
        stop=stop_after_delay(seconds),
        reraise=True,
        before_sleep=before_sleep_log(log, logging.WARNING),
    )
    return retrying(write)

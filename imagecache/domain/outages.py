"""Which failures are outages: a dependency that cannot be reached or is not serving.

An outage is answered 503 with Retry-After and stops a maintenance pass (the
next one retries); every other failure is a bug in us or in the data, a 500
that is logged with its message, and one item's bug never stops a pass.

Only an adapter knows how its dependency says "not now": the composition root
has each dependency's outages recognised here (Redis's: redis_access/outages.py),
so the rules below never import a client library.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from tenacity import Retrying, before_sleep_log, retry_if_exception, stop_after_delay, wait_exponential

from imagecache.domain.errors import StorageUnavailable

OutageTest = Callable[[BaseException], bool]

log = logging.getLogger(__name__)
T = TypeVar("T")
_tests: list[OutageTest] = []


def recognise(test: OutageTest) -> None:
    """Count the failures `test` accepts as outages too (an adapter's dependency's own ways of saying it)."""
    if test not in _tests:
        _tests.append(test)


def is_outage(exc: BaseException) -> bool:
    return isinstance(exc, StorageUnavailable) or any(test(exc) for test in _tests)


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

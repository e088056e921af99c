"""RetryingJob: a job kind as the producer calls it (the Fetcher port), its transient failures tried again.

Exponential backoff with jitter, stretched to what the failure's `retry_after`
asks for (capped at the kind's timeout). An exception that is not a JobError is
a bug in the job: it ends the run at once as a 500 naming it, logged with its
traceback, and is not retried within the run.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from imagecache.domain.errors import FetchError
from imagecache.domain.ports import FetchResult
from imagecache.jobs._kind import JobKind, JobResult

log = logging.getLogger(__name__)

BACKOFF_INITIAL = 0.5
BACKOFF_MAX = 10.0


class _WaitWithRetryAfter:
    """Exponential backoff with jitter, stretched to honour Retry-After (capped)."""

    def __init__(self, backoff: wait_exponential_jitter, cap: float) -> None:
        self._backoff = backoff
        self._cap = cap

    def __call__(self, state: RetryCallState) -> float:
        delay = self._backoff(state)
        exc = state.outcome.exception() if state.outcome else None
        hinted = getattr(exc, "retry_after", None)
        return max(delay, min(hinted, self._cap)) if hinted else delay


def run_timeout(retries: int, attempt_seconds: float) -> int:
    """A run's timeout for a kind whose attempts each take at most attempt_seconds: every attempt, the longest
    backoffs between them, and time to store the result."""
    return int((retries + 1) * attempt_seconds + retries * BACKOFF_MAX + 30)


def _misbehaved(message: str) -> FetchError:
    """The job itself went wrong (a bug): trying it again at once would go wrong again."""
    return FetchError(500, message, kind="job error", retry_at_once=False)


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, FetchError) and not exc.definitive and exc.retry_at_once


class RetryingJob:
    def __init__(self, name: str, kind: JobKind, *, backoff_initial: float = BACKOFF_INITIAL) -> None:
        self.name = name
        self._kind = kind
        self._retrying = Retrying(
            stop=stop_after_attempt(kind.retries + 1),
            wait=_WaitWithRetryAfter(
                wait_exponential_jitter(multiplier=backoff_initial, max=BACKOFF_MAX, jitter=backoff_initial),
                cap=kind.timeout,
            ),
            retry=retry_if_exception(_transient),
            before_sleep=self._log_retry,
            reraise=True,
        )

    def fetch(self, query: Any) -> FetchResult:
        attempts = 0

        def attempt() -> JobResult:
            nonlocal attempts
            attempts += 1
            return self._run(query)

        try:
            result = self._retrying(attempt)
        except FetchError as exc:
            exc.attempts = attempts
            raise
        return FetchResult(result.content_type, result.data, attempts, os.fspath(result.path) if result.path else "")

    def _run(self, query: Any) -> JobResult:
        try:
            result = self._kind.run(query)
        except FetchError:
            raise
        except Exception as exc:
            log.exception("job %s: raised %s", self.name, type(exc).__name__)
            raise _misbehaved(f"job {self.name} failed: {type(exc).__name__}: {exc}") from exc
        if not isinstance(result, JobResult):
            raise _misbehaved(f"job {self.name} returned {type(result).__name__}, not a JobResult")
        if result.path is not None and not os.path.isfile(result.path):
            raise _misbehaved(f"job {self.name} returned a path that is not a file")
        return result

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        what = f"{type(exc).__name__} {getattr(exc, 'status', '')}".strip()
        log.warning("job %s: attempt %d failed (%s), retrying", self.name, state.attempt_number, what)

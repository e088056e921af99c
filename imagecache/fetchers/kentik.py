"""KentikFetcher: Kentik's /query/topXchart over HTTP, with retries.

Transient failures (connection errors, timeouts, 429, 5xx) are retried with
exponential backoff and jitter, waiting at least what Retry-After asks for;
any other 4xx is the upstream's final word on the query.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import logging
import time
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from imagecache.domain.errors import FetchError
from imagecache.domain.ports import FetchResult
from imagecache.fetchers.image_types import MIME_TYPES

log = logging.getLogger(__name__)

_KNOWN_MIMES = set(MIME_TYPES.values())


class _Transient(Exception):
    """A 429 or 5xx worth trying again."""

    def __init__(self, status: int, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


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


class KentikFetcher:
    def __init__(
        self,
        api_url: str,
        email: str,
        token: str,
        *,
        retries: int,
        timeout: float,
        max_connections: int = 100,
        backoff_initial: float = 0.5,
        backoff_max: float = 10.0,
    ) -> None:
        self._url = api_url.rstrip("/") + "/query/topXchart"
        self._headers = {"X-CH-Auth-Email": email, "X-CH-Auth-API-Token": token}
        self._client = httpx.Client(
            timeout=timeout,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )
        self._attempts = retries + 1
        self._wait = _WaitWithRetryAfter(
            wait_exponential_jitter(multiplier=backoff_initial, max=backoff_max, jitter=backoff_initial), cap=timeout
        )

    def fetch(self, query: Any) -> FetchResult:
        attempts = 0

        def attempt() -> httpx.Response:
            nonlocal attempts
            attempts += 1
            return self._post(query)

        retrying = Retrying(
            stop=stop_after_attempt(self._attempts),
            wait=self._wait,
            retry=retry_if_exception_type((httpx.TransportError, _Transient)),
            before_sleep=_log_retry,
            reraise=True,
        )
        try:
            response = retrying(attempt)
        except FetchError as exc:
            exc.attempts = attempts
            raise
        except _Transient as exc:
            raise FetchError(exc.status, exc.message, attempts=attempts) from None
        except httpx.TimeoutException:
            raise FetchError(504, f"Kentik API timed out ({attempts} attempts)", attempts=attempts) from None
        except httpx.TransportError as exc:
            raise FetchError(
                502, f"cannot reach Kentik API: {type(exc).__name__} ({attempts} attempts)", attempts=attempts
            ) from None
        content_type, data = _decode_success(response)
        return FetchResult(content_type, data, attempts)

    def close(self) -> None:
        self._client.close()

    def _post(self, query: Any) -> httpx.Response:
        response = self._client.post(self._url, json=query, headers=self._headers)
        if response.status_code == 429 or response.status_code >= 500:
            raise _Transient(response.status_code, _message(response), _retry_after(response))
        if response.status_code >= 400:
            raise FetchError(response.status_code, _message(response), definitive=True)
        return response


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning("kentik: attempt %d failed (%s), retrying", state.attempt_number, type(exc).__name__)


def _message(response: httpx.Response) -> str:
    """The upstream's own words: its JSON error field if it has one, else its text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for field in ("error", "message", "msg", "detail"):
            if body.get(field):
                return str(body[field])[:1000]
    return response.text[:1000] or response.reason_phrase


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, moment - time.time())


def _decode_success(response: httpx.Response) -> tuple[str, bytes]:
    """Unpack `{"dataUri": "data:<mime>;base64,<data>"}`; anything else is a 502."""
    try:
        data_uri = response.json()["dataUri"]
        header, _, payload = data_uri.partition(",")
        mime, _, encoding = header.removeprefix("data:").partition(";")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise FetchError(502, "malformed Kentik API response: no dataUri") from None
    if not header.startswith("data:") or encoding != "base64" or mime not in _KNOWN_MIMES:
        raise FetchError(502, f"malformed Kentik API response: unsupported data URI type {header[:80]!r}")
    try:
        return mime, base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise FetchError(502, "malformed Kentik API response: bad base64 data") from None

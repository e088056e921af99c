"""HTTP to one imagecache server: connection handling and status → typed error.

Both APIs answer errors as JSON, in their own shapes (Kentik's
{"type", "loc", "msg"}, KBase's {"status": "error", "error"}); this is the one
place that reads them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from imagecache_client.errors import ClientError, NotFound, OverQuota, Refused, Timeout, Unavailable

DEFAULT_TIMEOUT = httpx.Timeout(30.0, read=120.0)


def server_key(url: str) -> str:
    """One spelling per server: the local cache keeps each server's records apart."""
    parsed = httpx.URL(url.rstrip("/"))
    if parsed.scheme.lower() not in ("http", "https") or not parsed.host:
        raise ValueError(f"not a server URL: {url!r} (e.g. http://127.0.0.1:8000)")
    if parsed.userinfo:  # it would end up in the local cache's index and in messages
        raise ValueError("the URL must not carry credentials: pass the API key or token on their own")
    return str(parsed.copy_with(scheme=parsed.scheme.lower(), host=parsed.host.lower()))


class Connection:
    """An httpx client bound to one server, raising ClientError subclasses."""

    def __init__(self, url: str, headers: dict[str, str] | None = None, http: httpx.Client | None = None) -> None:
        self.server = server_key(url)
        self._headers = headers or {}
        self._given = http
        self._own: httpx.Client | None = None
        self._making = threading.Lock()

    @property
    def _http(self) -> httpx.Client:
        """Made on first use: a call answered by the local cache never pays for TLS set-up (~50 ms)."""
        if self._given is not None:
            return self._given
        with self._making:
            if self._own is None:
                self._own = httpx.Client(timeout=DEFAULT_TIMEOUT)
            return self._own

    def close(self) -> None:
        if self._own is not None:
            self._own.close()

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A whole (small) response, raised as an error when it is one."""
        with self.stream(method, path, **kwargs) as response:
            response.read()
            return response

    def call_json(self, method: str, path: str, required: tuple[str, ...] = (), **kwargs: Any) -> dict[str, Any]:
        """A JSON object answer holding the `required` fields; anything else is a bad answer, not a crash."""
        return self.json_of(self.call(method, path, **kwargs), path, required)

    def json_of(self, response: httpx.Response, path: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
        """The response's JSON object, holding the `required` fields; anything else is a bad answer."""
        return json_answer(self.server, response, path, required)

    @contextmanager
    def stream(self, method: str, path: str, ok: tuple[int, ...] = (), **kwargs: Any) -> Iterator[httpx.Response]:
        """A streamed response; statuses in `ok` (besides 2xx) are handed back, not raised."""
        headers = {**self._headers, **kwargs.pop("headers", {})}
        with translated(self.server), self._http.stream(method, self.server + path, headers=headers, **kwargs) as got:
            if not (got.is_success or got.status_code in ok):
                got.read()
                raise error_for(got)
            yield got


def json_answer(server: str, response: httpx.Response, path: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The response's JSON object, holding the `required` fields; anything else is a bad answer, not a crash."""
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or any(name not in answer for name in required):
        raise ClientError(f"bad answer from {server}{path}: {response.text[:200]!r}", response.status_code)
    return answer


@contextmanager
def translated(server: str) -> Iterator[None]:
    """httpx's errors as the client's own: the server did not answer in time, could not be reached, or answered
    something that is not HTTP it can read."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise Timeout(f"{server} did not answer in time ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise Unavailable(f"cannot reach {server}: {exc or type(exc).__name__}") from exc
    except httpx.HTTPError as exc:  # undecodable body, redirect loop
        raise ClientError(f"bad answer from {server}: {exc or type(exc).__name__}") from exc


def error_for(response: httpx.Response) -> ClientError:
    status = response.status_code
    message = error_message(response)
    if status == 404:
        return NotFound(message, status)
    if status in (502, 503, 504):  # the server, or a gateway in front of it, cannot serve now
        return Unavailable(f"{message} ({status})", status)
    quota = _over_quota(response)
    if quota is not None:
        return OverQuota(f"{message} ({status})", quota, _seconds(response.headers.get("Retry-After")))
    return Refused(f"{message} ({status})", status)


def _over_quota(response: httpx.Response) -> str | None:
    """The quota a 429 names when the tenant's quota refused the request (its type `over_quota`); else None."""
    if response.status_code != 429:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return str(body.get("loc")) if isinstance(body, dict) and body.get("type") == "over_quota" else None


def _seconds(value: str | None) -> int:
    """Retry-After as delta-seconds (what imagecache sends); 1 for anything else."""
    return int(value) if value and value.isascii() and value.isdigit() else 1


def error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    if isinstance(body, dict):
        return str(body.get("msg") or body.get("error") or body)
    return str(body)

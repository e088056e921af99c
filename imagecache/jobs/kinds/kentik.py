"""The `kentik` job kind: Kentik's /query/topXchart over HTTP.

Transient failures (connection errors, timeouts, 429, 5xx) are the job
runner's to retry, with exponential backoff and jitter, waiting at least what
Retry-After asks for; any other 4xx is the upstream's final word on the query.
"""

from __future__ import annotations

import base64
import collections
import email.utils
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pybase64

from imagecache.config import Config
from imagecache.domain.errors import FetchError
from imagecache.jobs import JobKind, JobResult, run_timeout
from imagecache.jobs.kinds.image_types import MIME_TYPES

_KNOWN_MIMES = set(MIME_TYPES.values())


class KentikFetcher:
    """One attempt at Kentik's API; the job runner (jobs/_runner.py) tries transient failures again.

    Requests go straight to httpx's transports: the Client around them would follow no redirect, keep no cookie and
    run no auth flow for us, yet it cost a third of each call's CPU in the worker doing so. What the Client did that
    matters is done here once: the environment's proxy (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY), and the
    headers a server expects of a client.

    Each call takes a transport of one connection from a stack of idle ones, the most recently used first (kept
    warm when calls are few), and puts it back: httpx's own pool, shared by the worker's runner threads, polls
    every idle connection it holds as it hands one out and again as it takes it back (two dozen system calls a
    chart with 16 at work, each giving up the GIL). There are never more transports than calls at once, and all
    share one TLS context (making one costs 27 ms). A call that raises closes its transport instead: it may have
    been stopped anywhere inside httpcore (the watchdog's timeout), with its one connection left taken.
    """

    def __init__(self, api_url: str, email: str, token: str, *, timeout: float) -> None:
        self._url = httpx.URL(api_url.rstrip("/") + "/query/topXchart")
        self._headers = {
            "X-CH-Auth-Email": email,
            "X-CH-Auth-API-Token": token,
            "User-Agent": "imagecache",
            "Accept": "application/json",
            "Accept-Encoding": "gzip, deflate",
        }
        self._timeouts = {"timeout": httpx.Timeout(timeout).as_dict()}
        self._proxy = _environment_proxy(self._url)
        self._tls = httpx.create_ssl_context()
        self._idle = collections.deque([self._new_transport()])  # the first made now: a bad proxy stops the kind

    def _new_transport(self) -> httpx.HTTPTransport:
        return httpx.HTTPTransport(verify=self._tls, proxy=self._proxy, limits=httpx.Limits(max_connections=1))

    @contextmanager
    def _transport(self) -> Iterator[httpx.HTTPTransport]:
        try:
            transport = self._idle.pop()
        except IndexError:
            transport = self._new_transport()
        try:
            yield transport
        except BaseException:
            transport.close()
            raise
        self._idle.append(transport)

    def attempt(self, query: Any) -> JobResult:
        """The chart, or a FetchError: transient (connection errors, timeouts, 429, 5xx, with the Retry-After
        asked for) or definitive (any other 4xx: the upstream's final word on the query)."""
        request = httpx.Request("POST", self._url, json=query, headers=self._headers, extensions=self._timeouts)
        try:
            with self._transport() as transport:
                response = transport.handle_request(request)
                try:
                    response.read()
                finally:
                    response.close()
        except httpx.TimeoutException:
            raise FetchError(504, "Kentik API timed out") from None
        except httpx.TransportError as exc:
            raise FetchError(502, f"cannot reach Kentik API: {type(exc).__name__}") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise FetchError(response.status_code, _message(response), retry_after=_retry_after(response))
        if response.status_code >= 400:
            raise FetchError(response.status_code, _message(response), definitive=True)
        content_type, data = _decode_success(response)
        return JobResult(content_type, data)


def kentik_job(config: Config) -> JobKind | None:
    """The `kentik` job kind: charts from Kentik's API, where the deployment has Kentik credentials."""
    if not config.kentik_enabled:
        return None
    fetcher = KentikFetcher(
        config.kentik_api_url,
        config.kt_auth_email,
        config.kt_auth_token.get_secret_value(),
        timeout=config.kentik_api_timeout,
    )
    return JobKind(
        run=fetcher.attempt,
        timeout=run_timeout(config.kentik_api_retries, config.kentik_api_timeout),
        retries=config.kentik_api_retries,
        concurrency=config.upstream_max_concurrency,
        default_ttl=config.default_ttl,
        description="A chart from Kentik's /query/topXchart (KENTIK_API_URL)",
    )


def _environment_proxy(url: httpx.URL) -> str | None:
    """The proxy the environment names for `url`, if any: the variables httpx.Client and curl honour, read as
    Python's own urllib reads them (the scheme's, else ALL_PROXY; none for a host, or host:port, that NO_PROXY
    names). A proxy named without a scheme is HTTP's, as curl takes it."""
    port = url.port or {"https": 443}.get(url.scheme, 80)
    if urllib.request.proxy_bypass(f"{url.host}:{port}"):
        return None
    proxies = urllib.request.getproxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if proxy and "://" not in proxy:
        return f"http://{proxy}"
    return proxy or None


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
        raise FetchError(502, "malformed Kentik API response: no dataUri", retry_at_once=False) from None
    if not header.startswith("data:") or encoding != "base64" or mime not in _KNOWN_MIMES:
        raise FetchError(
            502, f"malformed Kentik API response: unsupported data URI type {header[:80]!r}", retry_at_once=False
        )
    try:
        return mime, _strict_base64(payload)
    except ValueError:  # binascii.Error is one
        raise FetchError(502, "malformed Kentik API response: bad base64 data", retry_at_once=False) from None


def _strict_base64(payload: str) -> bytes:
    """What `base64.b64decode(validate=True)` makes of it, at SIMD speed (2 µs, not 70, for a 25 KB chart). The
    standard library, asked only where the fast decoder refuses, also takes `=` past a whole group."""
    try:
        return pybase64.b64decode(payload, validate=True)
    except ValueError:
        return base64.b64decode(payload, validate=True)

"""The callback job (`workers.callbacks.delivery.deliver`, by the name RQ's jobs carry): POST one entry's notice to its
callback_url, signed, and fail (so that RQ retries it) unless the receiver answers 2xx.

The signature is `Imagecache-Signature: sha256=<hex HMAC-SHA256 of the body with CALLBACK_SECRET>`, made here,
so the secret never enters Redis. The URL is checked against CallbackTargets again (the settings may have
changed since the request), and the connection goes only to an address they allow (connections.py).
Redirects are not followed and the receiver's body is never read: an allowed host can neither send the call
elsewhere nor fill our memory.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import ssl
import urllib.parse

import httpcore

from imagecache.config import Config, load_config
from workers.callbacks.connections import CheckedConnections

log = logging.getLogger(__name__)

TIMEOUT = 10.0
SIGNATURE = "Imagecache-Signature"

_config: Config | None = None


class CallbackRefused(Exception):
    """The callback did not get through (the message: its host, and the status or error class); RQ tries again."""


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(url: str, body: str) -> None:
    """The RQ job: the configuration is read once per process."""
    global _config
    if _config is None:
        _config = load_config()
    send(url, body, _config)


def send(url: str, body: str, config: Config, connections: CheckedConnections | None = None) -> None:
    targets = config.callback_targets
    where = urllib.parse.urlsplit(url).hostname
    problem = targets.url_problem(url)
    if problem:
        log.warning("callback to %s dropped: %s", where, problem)
        return
    payload = body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "imagecache-callbacks",
        SIGNATURE: signature(config.callback_secret.get_secret_value(), payload),
    }
    status = _post(url, headers, payload, connections or CheckedConnections(targets))
    if not 200 <= status < 300:
        raise CallbackRefused(f"callback to {where}: answered {status}")
    log.info("callback to %s: %d", where, status)


def _post(url: str, headers: dict[str, str], payload: bytes, connections: CheckedConnections) -> int:
    """The receiver's status; CallbackRefused naming the error class when there is none.

    The request is built from the very parts the URL was checked by (urlsplit's), not parsed again: the host
    connected to is the host checked, and the path goes as written (`;params` included), with a Host header
    that keeps an IPv6 address's brackets."""
    parts = urllib.parse.urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    address = httpcore.URL(scheme=parts.scheme, host=parts.hostname or "", port=parts.port, target=target)
    timeouts = {"connect": TIMEOUT, "read": TIMEOUT, "write": TIMEOUT, "pool": TIMEOUT}
    request_headers = [("Host", parts.netloc), *headers.items()]
    try:
        with httpcore.ConnectionPool(ssl_context=_tls(), network_backend=connections) as pool:
            with pool.stream(
                "POST", address, headers=request_headers, content=payload, extensions={"timeout": timeouts}
            ) as response:
                return response.status
    except Exception as exc:  # whatever stopped it, one line and a retry: never a traceback per attempt
        raise CallbackRefused(f"callback to {parts.hostname}: {type(exc).__name__}: {exc}") from None


@functools.cache
def _tls() -> ssl.SSLContext:
    """One context for every delivery: making one reads the system's certificates again, about 27 ms of CPU."""
    return ssl.create_default_context()

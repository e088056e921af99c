"""The callback job (`workers.callbacks.deliver`, by the name RQ's jobs carry): POST one entry's notice to its
callback_url, signed, and fail (so that RQ retries it) unless the receiver answers 2xx.

The signature is `Imagecache-Signature: sha256=<hex HMAC-SHA256 of the body with CALLBACK_SECRET>`, made here,
so the secret never enters Redis. Redirects are not followed (an allowed host cannot send the call elsewhere),
and the host is checked against CALLBACK_ALLOWED_HOSTS again: the list may have shrunk since the request.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import urllib.parse

import httpx

from imagecache.config import Config, load_config
from imagecache.services.callbacks import url_problem

log = logging.getLogger(__name__)

TIMEOUT = 10.0
SIGNATURE = "Imagecache-Signature"

_config: Config | None = None


class CallbackRefused(Exception):
    """The receiver did not take the callback; RQ tries again."""


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(url: str, body: str) -> None:
    global _config
    if _config is None:
        _config = load_config()
    where = urllib.parse.urlsplit(url).hostname
    problem = url_problem(url, _config.callback_hosts)
    if problem:
        log.warning("callback to %s dropped: %s", where, problem)
        return
    payload = body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "imagecache-callbacks",
        SIGNATURE: signature(_config.callback_secret.get_secret_value(), payload),
    }
    try:
        response = httpx.post(url, content=payload, headers=headers, timeout=TIMEOUT, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise CallbackRefused(f"callback to {where}: {type(exc).__name__}") from None
    if not 200 <= response.status_code < 300:
        raise CallbackRefused(f"callback to {where}: answered {response.status_code}")
    log.info("callback to %s: %d", where, response.status_code)

"""Reading a JSON request body: bounded before a byte is read, and strict about what JSON is."""

from __future__ import annotations

import json
from typing import Any

import falcon

from imagecache.errors import ApiError

INVALID = "invalid request"


def read_json(req: falcon.Request, max_bytes: int, *, invalid: str = "request body is not valid JSON") -> Any:
    """The body as JSON; 413 over max_bytes (without reading it), 400 for anything but JSON."""
    if req.content_length is not None and req.content_length > max_bytes:
        raise ApiError(413, f"request body exceeds {max_bytes} bytes", loc="body", kind=INVALID)
    raw = req.bounded_stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ApiError(413, f"request body exceeds {max_bytes} bytes", loc="body", kind=INVALID)
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"{invalid}: {exc}", loc="body", kind=INVALID) from None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")

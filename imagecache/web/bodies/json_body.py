"""Reading a JSON request body: bounded, strict about what JSON is, and whole.

Any body Python's parser accepts is either a value every later step can
handle (canonical JSON, Redis, logs) or a 400 that says why: nesting past
MAX_DEPTH, numbers that are not finite, integers past Python's digit limit,
and strings with lone surrogates (they cannot be encoded) are refused here.
Chunked bodies are read, bounded by the same limit as any other.
"""

from __future__ import annotations

import json
import math
from typing import Any

import falcon

from imagecache.web.error_responses import ApiError

INVALID = "invalid request"
MAX_DEPTH = 32


def read_json(req: falcon.Request, max_bytes: int, *, invalid: str = "request body is not valid JSON") -> Any:
    """The body as JSON; 413 over max_bytes (before reading, where a length is declared), 400 for anything else."""
    if req.content_length is not None and req.content_length > max_bytes:
        raise _too_large(max_bytes)
    stream = req.bounded_stream if req.content_length is not None else req.stream  # chunked: the server ends it
    raw = stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise _too_large(max_bytes)
    try:
        return _checked(json.loads(raw, parse_constant=_reject_constant, parse_float=_finite))
    except RecursionError:
        raise ApiError(400, f"{invalid}: nested deeper than {MAX_DEPTH} levels", loc="body", kind=INVALID) from None
    except (ValueError, UnicodeError) as exc:
        raise ApiError(400, f"{invalid}: {exc}", loc="body", kind=INVALID) from None


def _checked(value: Any) -> Any:
    """The parsed value, once no container nests past MAX_DEPTH and every string encodes as UTF-8."""
    todo = [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, str) and not item.isascii():
            _encodable(item)
        elif isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise RecursionError
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            todo.extend((child, depth + 1) for child in children)
    return value


def _encodable(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"a string holds a lone surrogate ({text[exc.start]!r}), which UTF-8 cannot encode") from None


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is too large for a JSON number")
    return number


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _too_large(max_bytes: int) -> ApiError:
    return ApiError(413, f"request body exceeds {max_bytes} bytes", loc="body", kind=INVALID)

"""Serving stored bytes over HTTP: ETag revalidation, byte ranges, streaming.

The body is a stream from the blob store: a real file on the filesystem
backend, so gunicorn hands it to sendfile; an object download on S3. It is
never read whole into the process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import falcon

from imagecache.domain.ports import BlobReader
from imagecache.web.error_responses import ApiError

Opener = Callable[[int, int | None], BlobReader]


class Servable(Protocol):
    @property
    def etag(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def content_type(self) -> str: ...


def serve_blob(req: falcon.Request, resp: falcon.Response, blob: Servable, open_range: Opener) -> None:
    resp.etag = blob.etag
    resp.accept_ranges = "bytes"
    resp.set_header("X-Content-Type-Options", "nosniff")  # an uploaded text/html is never run as a page
    if _matches(req, blob.etag):
        resp.status = falcon.HTTP_304  # with no Content-Type: a 304 has no content to describe (RFC 9110 15.4.5)
        return
    resp.content_type = blob.content_type
    start, length = _byte_range(req, blob.size)
    if length != blob.size:
        resp.status = falcon.HTTP_206
        resp.content_range = (start, start + length - 1, blob.size)
    resp.content_length = length
    if req.method != "HEAD" and length:
        resp.stream = open_range(start, length)


def _matches(req: falcon.Request, etag: str) -> bool:
    tags = req.if_none_match or []
    return any(tag == "*" or tag == etag for tag in tags)


def _byte_range(req: falcon.Request, size: int) -> tuple[int, int]:
    """(start, length) of the requested range, or of the whole blob."""
    try:
        requested = req.range
    except falcon.HTTPInvalidHeader:
        return 0, size  # a malformed Range is ignored, as RFC 9110 allows
    if requested is None or req.range_unit != "bytes" or size == 0:
        return 0, size
    first, last = requested
    if first < 0:  # suffix: the last -first bytes
        first, last = max(0, size + first), size - 1
    elif last < 0 or last >= size:
        last = size - 1
    if first >= size or first > last:
        raise ApiError(
            416, "requested range is not satisfiable", loc="Range", headers={"Content-Range": f"bytes */{size}"}
        )
    return first, last - first + 1

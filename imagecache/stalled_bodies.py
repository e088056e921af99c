"""StalledBodyMiddleware: a request body that stops arriving ends the request with 408.

gunicorn's gevent worker reads a body with no time limit, so a client that
sends headers and then nothing holds its connection (and, for an upload, its
temporary file) for ever. Each read of the body here may wait at most
BODY_STALL_TIMEOUT for its next bytes: a slow body that keeps moving is
never cut, one that stops is answered 408 and its connection closed (the
unread rest of the body is never waited for).
"""

from __future__ import annotations

import socket
from typing import BinaryIO

import falcon

from imagecache.errors import ApiError


class BodyStalled(Exception):
    pass


class StallGuardedInput:
    def __init__(self, source: BinaryIO, conn: socket.socket, seconds: float) -> None:
        self._source = source
        self._conn = conn
        self._seconds = seconds

    def read(self, size: int = -1) -> bytes:
        previous = self._conn.gettimeout()
        self._conn.settimeout(self._seconds)
        try:
            return self._source.read(size)
        except TimeoutError:
            self._conn.shutdown(socket.SHUT_RD)  # gunicorn then sees the end of the stream, not the rest of the body
            raise BodyStalled(self._seconds) from None
        finally:
            self._conn.settimeout(previous)


class StalledBodyMiddleware:
    def __init__(self, seconds: float) -> None:
        self._seconds = seconds

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        conn = req.env.get("gunicorn.socket")
        if conn is None or not (req.content_length or req.get_header("Transfer-Encoding")):
            return
        guarded = StallGuardedInput(req.env["wsgi.input"], conn, self._seconds)
        req.env["wsgi.input"] = guarded
        req.stream = guarded


def body_stalled(req: falcon.Request, resp: falcon.Response, exc: BodyStalled, params: dict[str, object]) -> None:
    raise ApiError(408, f"the request body stalled: no bytes for {exc.args[0]:g} s", loc="body",
                   kind="request timeout")

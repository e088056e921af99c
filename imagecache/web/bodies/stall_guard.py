"""GuardedBodyMiddleware: every read of a request body ends, and ends in an answer.

gunicorn's gevent worker reads a body with no time limit, so a client that
sends headers and then nothing holds its connection (and, for an upload, its
temporary file) for ever. Each read here may wait at most BODY_STALL_TIMEOUT
for its next bytes: a slow body that keeps moving is never cut, one that
stops is answered 408 and its connection closed. A body that breaks off
(the client hung up) or is malformed (bad chunked encoding) is a
SourceInterrupted, answered 400, never a 500.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import BinaryIO

import falcon
from gunicorn.http.errors import ParseException

from imagecache.domain.errors import SourceInterrupted
from imagecache.web.error_responses import ApiError


class BodyStalled(Exception):
    pass


class GuardedInput:
    def __init__(self, source: BinaryIO, conn: socket.socket, seconds: float) -> None:
        self._source = source
        self._conn = conn
        self._seconds = seconds

    def read(self, size: int | None = -1, /) -> bytes:
        return self._guarded(self._source.read, -1 if size is None else size)

    def readline(self, size: int | None = -1, /) -> bytes:
        return self._guarded(self._source.readline, -1 if size is None else size)

    def _guarded(self, call: Callable[[int], bytes], size: int) -> bytes:
        previous = self._conn.gettimeout()
        self._conn.settimeout(self._seconds)
        try:
            return call(size)
        except TimeoutError:
            self._stop_reading()
            raise BodyStalled(self._seconds) from None
        except (OSError, ParseException) as exc:
            raise SourceInterrupted(f"the request body broke off: {exc or type(exc).__name__}") from exc
        finally:
            self._conn.settimeout(previous)

    def _stop_reading(self) -> None:
        """gunicorn then finds the end of the stream, and closes, instead of waiting for the rest of the body."""
        try:
            self._conn.shutdown(socket.SHUT_RD)
        except OSError:
            pass


class GuardedBodyMiddleware:
    def __init__(self, seconds: float) -> None:
        self._seconds = seconds

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        conn = req.env.get("gunicorn.socket")
        if conn is None or not (req.content_length or req.get_header("Transfer-Encoding")):
            return
        guarded = GuardedInput(req.env["wsgi.input"], conn, self._seconds)
        req.env["wsgi.input"] = guarded
        req.stream = guarded


def body_stalled(req: falcon.Request, resp: falcon.Response, exc: BodyStalled, params: dict[str, object]) -> None:
    raise ApiError(408, f"the request body stalled: no bytes for {exc.args[0]:g} s", loc="body", kind="request timeout")


def body_broke_off(
    req: falcon.Request, resp: falcon.Response, exc: SourceInterrupted, params: dict[str, object]
) -> None:
    raise ApiError(400, str(exc), loc="body", kind="invalid request")

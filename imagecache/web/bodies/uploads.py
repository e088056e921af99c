"""Reading an upload: in large pieces, all of it, and only when it is whole.

BulkReader: Falcon's multipart parser reads the body 32 KiB at a time;
gunicorn's body reader keeps its read-ahead in a BytesIO that it copies whole
on every read, so small reads of a large body cost a copy of up to 1 MiB each
(an upload ran at 125 MB/s). Reading 1 MiB at a time and slicing it here
removes the copies; memory stays bounded by one piece. It also counts: a body
that ends before its Content-Length (the client hung up) is an error, never
the end of the file.

WholePart: a form part is whole only when the form after it is: Falcon's
parser ends a part at the end of the body as well. So the part's last read
runs the parser to the end of the form; a body without its closing boundary
(or one cut off in a later part) fails there, inside the blob store's write,
which then keeps nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

import falcon

from imagecache.domain.errors import SourceInterrupted

PIECE = 1024 * 1024


class BulkReader:
    def __init__(self, source: BinaryIO, length: int, piece: int = PIECE) -> None:
        self._source = source
        self._left = length
        self._piece = piece
        self._buffer = memoryview(b"")

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            rest = bytes(self._buffer) + self._fill(self._left)
            self._buffer = memoryview(b"")
            return rest
        if not self._buffer:
            self._buffer = memoryview(self._fill(max(size, self._piece)))
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return bytes(data)

    def _fill(self, size: int) -> bytes:
        wanted = min(size, self._left)
        try:
            data = self._source.read(wanted) if wanted else b""
        except ConnectionError as exc:
            raise SourceInterrupted(f"the client went away: {exc}") from exc
        self._left -= len(data)
        if wanted and not data:
            raise SourceInterrupted(f"the body ended {self._left} bytes before its Content-Length")
        return data


class WholePart:
    """A form part's stream that fails at its end unless the rest of the form is whole."""

    def __init__(self, part: Any, form: Iterator[Any]) -> None:
        self._stream = part.stream
        self._form = form

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if not data:
            try:
                for _ in self._form:  # each later part is skipped unread; the closing boundary must come
                    pass
            except falcon.MediaMalformedError as exc:
                raise SourceInterrupted(f"the form ended without its closing boundary ({exc.description})") from exc
        return data

"""BulkReader: large reads from the server, small reads from memory.

Falcon's multipart parser reads the body 32 KiB at a time; gunicorn's body
reader keeps its read-ahead in a BytesIO that it copies whole on every read,
so small reads of a large body cost a copy of up to 1 MiB each (an upload ran
at 125 MB/s). Reading 1 MiB at a time and slicing it here removes the copies;
memory stays bounded by one piece.
"""

from __future__ import annotations

from typing import BinaryIO

PIECE = 1024 * 1024


class BulkReader:
    def __init__(self, source: BinaryIO, piece: int = PIECE) -> None:
        self._source = source
        self._piece = piece
        self._buffer = memoryview(b"")

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            rest = bytes(self._buffer) + self._source.read()
            self._buffer = memoryview(b"")
            return rest
        if not self._buffer:
            self._buffer = memoryview(self._source.read(max(size, self._piece)))
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return bytes(data)

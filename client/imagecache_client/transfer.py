"""Moving bytes between HTTP and files: response bodies into the local cache, files into uploads.

Nothing is held whole in memory, and nothing appears under its final name
until it is complete.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from imagecache_client.errors import ClientError
from imagecache_client.local import BlobWriter
from imagecache_client.progress import Advance

CHUNK = 1024 * 1024
_SHA256_ETAG = re.compile(r'(?:W/)?"?([0-9a-f]{64})"?')
_FORM_ESCAPES = str.maketrans({'"': "%22", "\r": "%0D", "\n": "%0A"})  # as browsers (and httpx) write them


def receive(response: httpx.Response, writer: BlobWriter, advance: Advance) -> None:
    """Stream a body into a new blob; refuse it when it does not match the server's sha256 ETag."""
    for chunk in response.iter_bytes(CHUNK):
        writer.write(chunk)
        advance(len(chunk))
    check_received(response, writer)


def check_received(response: httpx.Response, writer: BlobWriter) -> None:
    """Refuse a body whose sha256 is not the server's ETag."""
    expected = content_sha256(response.headers.get("ETag", ""))
    if expected and expected != writer.sha256:
        raise ClientError(
            f"download of {response.url.path} was corrupted: sha256 {writer.sha256}, server says {expected}"
        )


def content_sha256(etag: str) -> str | None:
    """imagecache's ETags are the content's sha256; other servers' are left alone."""
    match = _SHA256_ETAG.fullmatch(etag.strip())
    return match[1] if match else None


def content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


@dataclass(frozen=True)
class Form:
    """A one-file multipart/form-data body (field `file`): its headers, and what comes before and after the file."""

    headers: dict[str, str]
    head: bytes
    tail: bytes


def form(path: Path, filename: str, content_type: str) -> Form:
    boundary = uuid.uuid4().hex
    quoted = filename.translate(_FORM_ESCAPES)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{quoted}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(head) + path.stat().st_size + len(tail)),
    }
    return Form(headers, head, tail)


def multipart(path: Path, filename: str, content_type: str, advance: Advance) -> tuple[dict[str, str], Iterator[bytes]]:
    """The form's body, streamed from disk with its exact length.

    httpx's own multipart encoder reads 64 KiB at a time; this one reads 1 MiB and is a quarter faster.
    """
    parts = form(path, filename, content_type)

    def body() -> Iterator[bytes]:
        yield parts.head
        with open(path, "rb") as file:
            while chunk := file.read(CHUNK):
                advance(len(chunk))
                yield chunk
        yield parts.tail

    return parts.headers, body()

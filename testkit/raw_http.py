"""HTTP as hostile or broken clients speak it: exact bytes on a socket, no client-side normalising."""

from __future__ import annotations

import json
import socket
import struct
import time
from dataclasses import dataclass


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


def read_response(conn: socket.socket) -> RawResponse:
    """One HTTP/1.1 response with a Content-Length (or until the server closes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before the headers ended: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", -1))
    while length < 0 or len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return RawResponse(int(lines[0].split()[1]), headers, body)


def exchange(port: int, raw: bytes, timeout: float = 10.0) -> RawResponse:
    """Send these exact bytes, then read one response."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(raw)
        return read_response(conn)


def get(port: int, target: str, headers: dict[str, str] | None = None, method: str = "GET") -> RawResponse:
    """A request line with `target` exactly as given (`//info`, `/./info`, `/%69nfo`)."""
    lines = [
        f"{method} {target} HTTP/1.1",
        "Host: test",
        "Connection: close",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    body = b"{}" if method == "POST" else b""
    if method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return exchange(port, ("\r\n".join(lines) + "\r\n\r\n").encode() + body)


def send_and_hang_up(port: int, raw: bytes, *, reset: bool) -> None:
    """Send part of a request, then close with FIN, or with RST when `reset`."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    if reset:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.sendall(raw)
    time.sleep(0.3)
    conn.close()

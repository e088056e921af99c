"""Kernel sendfile for gevent sockets.

gevent emulates socket.sendfile with 8 KiB read()/send() rounds through
Python, because os.sendfile blocks on a blocking socket. Its sockets are
non-blocking underneath, so os.sendfile returns what fits and we wait for
writability cooperatively: the kernel copies file to socket, greenlets keep
running. gunicorn calls socket.sendfile for every wsgi.file_wrapper body
that has a file descriptor, which is how filesystem blobs are served.
"""

from __future__ import annotations

import os
from typing import BinaryIO

from gevent import socket as gevent_socket

_ALL = 1 << 30


def cooperative_sendfile(sock: gevent_socket.socket, file: BinaryIO, offset: int = 0, count: int | None = None) -> int:
    source, target = file.fileno(), sock.fileno()
    total = 0
    while count is None or total < count:
        try:
            sent = os.sendfile(target, source, offset + total, (count - total) if count else _ALL)
        except BlockingIOError:
            gevent_socket.wait_write(target, timeout=sock.gettimeout())
            continue
        if not sent:
            break
        total += sent
    file.seek(offset + total)
    return total


def install() -> None:
    gevent_socket.socket.sendfile = cooperative_sendfile

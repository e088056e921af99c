"""Whether the address the web is to listen on can be had, asked before anything starts: a busy port is one line
and exit 2, not gunicorn retrying for five seconds after Redis and the workers came up."""

from __future__ import annotations

import errno
import socket


def listen_problem(host: str, port: int) -> str | None:
    """Why the web cannot listen at host:port, or None. Bound as gunicorn binds (SO_REUSEADDR), then let go."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"--host {host}: no such address ({exc.strerror})"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return _why(exc, host, port)
    return None


def _why(exc: OSError, host: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is in use; pick another with --port (make run PORT=...)"
    if exc.errno == errno.EACCES:
        return f"port {port} on {host} needs privileges this user lacks; pick one above 1023 with --port"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"--host {host} is not an address of this machine"
    return f"cannot listen on {host}:{port}: {exc.strerror}"

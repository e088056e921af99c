"""A callback receiver on loopback for tests: records every POST."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """A callback receiver on loopback: records every POST; answers `failures` 500s first."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.paths: list[str] = []
        self.failures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append((dict(self.headers), body))
                receiver.paths.append(self.path)
                status = 500 if receiver.failures > 0 else 200
                receiver.failures -= 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        server = type(
            "Server", (ThreadingHTTPServer,), {"address_family": socket.AF_INET6 if ":" in host else socket.AF_INET}
        )
        self._server = server((host, 0), Handler)
        self.port = self._server.server_port
        self.url = f"http://{f'[{host}]' if ':' in host else host}:{self.port}/hook"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def for_entry(self, entry_id: str) -> list[tuple[dict[str, str], dict]]:
        return [(headers, json.loads(body)) for headers, body in self.calls if json.loads(body)["id"] == entry_id]

    def stop(self) -> None:
        self._server.shutdown()

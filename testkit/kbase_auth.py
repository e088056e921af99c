"""A stand-in for KBase's auth service: GET /api/V2/token with a few known tokens."""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import falcon

TOKENS = {"token-alice": "alice", "token-bob": "bob"}


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class _Threaded(WSGIServer):
    daemon_threads = True


class TokenResource:
    def __init__(self) -> None:
        self.calls = 0

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.calls += 1
        user = TOKENS.get(req.get_header("Authorization") or "")
        if user is None:
            resp.status = 401
            resp.media = {"error": {"httpcode": 401, "message": "10020 Invalid token"}}
            return
        resp.media = {"type": "Login", "user": user, "name": user, "cachefor": 300000, "expires": 0}


class StandInAuth:
    def __init__(self) -> None:
        self.tokens = TokenResource()
        app = falcon.App()
        app.add_route("/api/V2/token", self.tokens)
        self._server = make_server("127.0.0.1", 0, app, server_class=_Threaded, handler_class=_Quiet)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> StandInAuth:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

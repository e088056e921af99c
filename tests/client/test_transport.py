"""Status → typed error, and the one spelling of a server that keys the local cache."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from imagecache_client import ClientError, ImageCacheClient, NotFound, OverQuota, Refused, Unavailable
from imagecache_client.transport import error_for, server_key


@pytest.mark.parametrize(
    ("status", "body", "kind", "message"),
    [
        (404, {"type": "error", "loc": "x", "msg": "Image not found"}, NotFound, "Image not found"),
        (404, {"status": "error", "error": "Cache ID not found"}, NotFound, "Cache ID not found"),
        (403, {"status": "error", "error": "Invalid token"}, Refused, "Invalid token"),
        (400, {"type": "invalid", "loc": "ttl", "msg": "'ttl' must be an integer"}, Refused, "'ttl'"),
        (503, {"type": "error", "loc": "/info", "msg": "cache index (Redis) is unavailable"}, Unavailable, "Redis"),
        (502, "<html>Bad Gateway</html>", Unavailable, "Bad Gateway"),  # a proxy in front of the server
        (504, "", Unavailable, "Gateway Timeout"),
    ],
)
def test_statuses_become_typed_errors(status, body, kind, message):
    response = httpx.Response(status, json=body) if isinstance(body, dict) else httpx.Response(status, text=body)
    error = error_for(response)
    assert type(error) is kind and error.status == status and message in error.message


def test_one_spelling_per_server():
    assert server_key("HTTP://Cache.Example:8000/") == server_key("http://cache.example:8000")


@pytest.mark.parametrize("url", ["127.0.0.1:8000", "ftp://cache.example", "http://user:secret@cache.example"])
def test_what_is_not_a_server_url_is_refused(url):
    with pytest.raises(ValueError) as raised:
        server_key(url)
    assert "secret" not in str(raised.value)


class _NotImagecache(BaseHTTPRequestHandler):
    """Some other web server answering 200 with text: a wrong --url."""

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer()

    def _answer(self) -> None:
        body = b"<html>welcome to nginx</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_an_answer_that_is_not_imagecaches_is_a_client_error(tmp_path):
    server = HTTPServer(("127.0.0.1", 0), _NotImagecache)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with ImageCacheClient(f"http://127.0.0.1:{server.server_port}", cache_dir=tmp_path) as client:
            with pytest.raises(ClientError, match="bad answer"):
                client.request({"queries": []})
            with pytest.raises(ClientError, match="bad answer"):
                client.info()
    finally:
        server.shutdown()
        server.server_close()


OVER = {"type": "over_quota", "loc": "pending", "msg": "tenant 'a' is at its pending quota (2); try again in 7 s"}


def test_a_quota_refusal_names_the_quota_and_when_to_come_back():
    refused = error_for(httpx.Response(429, json=OVER, headers={"Retry-After": "7"}))
    assert isinstance(refused, OverQuota) and (refused.quota, refused.retry_after, refused.status) == (
        "pending",
        7,
        429,
    )


@given(st.text(max_size=20))
@example("0")
@example("²")  # a digit to str.isdigit, not to int()
def test_any_retry_after_reads_as_whole_seconds(value):
    try:
        headers = httpx.Headers({"Retry-After": value})
    except (TypeError, ValueError, UnicodeEncodeError):
        return  # not a header httpx can carry
    refused = error_for(httpx.Response(429, json=OVER, headers=headers))
    assert isinstance(refused, OverQuota) and isinstance(refused.retry_after, int) and refused.retry_after >= 0


def test_another_429_is_a_plain_refusal():
    waits = {"type": "error", "loc": "client", "msg": "too many waiting requests"}
    refused = error_for(httpx.Response(429, json=waits, headers={"Retry-After": "2"}))
    assert isinstance(refused, Refused) and not isinstance(refused, OverQuota)

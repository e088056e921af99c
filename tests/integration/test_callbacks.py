"""callback_url through a live stack: signed POSTs to an allowed host when the entry settles, retried by RQ
until a 2xx; refused for any other host, and when callbacks are off."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.support.processes import wait_until
from tests.support.upstream import make_query, simulate

SECRET = "callback-signing-secret"


class Receiver:
    """A callback receiver on loopback: records every POST; answers `failures` 500s first."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.failures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append((dict(self.headers), body))
                status = 500 if receiver.failures > 0 else 200
                receiver.failures -= 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/hook"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def for_entry(self, entry_id: str) -> list[tuple[dict[str, str], dict]]:
        return [(headers, json.loads(body)) for headers, body in self.calls if json.loads(body)["id"] == entry_id]

    def stop(self) -> None:
        self._server.shutdown()


@pytest.fixture(scope="module")
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stack(stack_factory):
    return stack_factory(
        ("web", "worker", "maintenance", "callbacks"),
        CALLBACK_ALLOWED_HOSTS="127.0.0.1",
        CALLBACK_SECRET=SECRET,
        CALLBACK_RETRY_SECONDS="1,1,1,1,1,1,1",
    )


def test_a_settled_entry_is_posted_to_its_callback_signed(stack, receiver, simulator):
    simulate(simulator)
    hook = receiver.url + "?token=receivers-own-secret"
    entry_id = stack.request(make_query(), callback_url=hook)["id"]
    wait_until(lambda: receiver.for_entry(entry_id), 20, "the callback")
    (headers, body), *more = receiver.for_entry(entry_id)
    raw = next(raw for _, raw in receiver.calls if json.loads(raw)["id"] == entry_id)
    expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert headers["Imagecache-Signature"] == expected and not more
    assert body["status"] == "active" and body["type"] == "image/png" and body["size"] > 0
    assert body["expires_at"] == float(entry_id.split("_")[1])
    for part in stack.parts.values():
        assert SECRET not in part.log() and "receivers-own-secret" not in part.log()


def test_a_receiver_that_fails_is_tried_again_until_it_answers_2xx(stack, receiver, simulator):
    simulate(simulator)
    receiver.failures = 2
    entry_id = stack.request(make_query(), callback_url=receiver.url)["id"]
    wait_until(lambda: len(receiver.for_entry(entry_id)) >= 3, 30, "the third attempt")
    time.sleep(2)
    assert len(receiver.for_entry(entry_id)) == 3  # and no more once it answered 200


def test_an_entry_settled_when_asked_for_is_called_back_at_once_and_errors_too(stack, receiver, simulator):
    simulate(simulator)
    query = make_query()
    entry_id = stack.request(query)["id"]
    assert httpx.get(f"{stack.url}/image/{entry_id}", timeout=30).status_code == 200
    assert stack.request(query, callback_url=receiver.url)["status"] == "active"
    wait_until(lambda: receiver.for_entry(entry_id), 20, "the callback")
    simulate(simulator, fail_first=100, fail_status=400)
    failed = stack.request(make_query(), callback_url=receiver.url)["id"]
    wait_until(lambda: receiver.for_entry(failed), 20, "the error's callback")
    assert receiver.for_entry(failed)[0][1]["error"]["status"] == 400


@pytest.mark.parametrize(
    "url",
    ["http://localhost:9/hook", "ftp://127.0.0.1/hook", "http://user:pw@127.0.0.1/hook", "http://127.0.0.1:99999/x", 5],
)
def test_a_callback_to_any_host_not_allowed_is_a_400_and_nothing_is_queued(stack, url):
    before = stack.info()["misses"]
    response = httpx.post(stack.url + "/requests", json={"api_query": make_query(), "callback_url": url}, timeout=10)
    assert response.status_code == 400 and response.json()["loc"] == "callback_url"
    assert stack.info()["misses"] == before


def test_callbacks_are_off_unless_hosts_are_allowed(stack_factory):
    plain = stack_factory(("web",))
    response = httpx.post(
        plain.url + "/requests", json={"api_query": make_query(), "callback_url": "http://127.0.0.1/x"}, timeout=10
    )
    assert response.status_code == 400 and "callbacks are off" in response.json()["msg"]

"""callback_url through a live stack: signed POSTs to an allowed host when the entry settles, retried by RQ
until a 2xx; refused for any other host, and when callbacks are off."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx
import pytest

from testkit.processes import wait_until
from testkit.upstream import make_query, simulate

SECRET = "callback-signing-secret"


@pytest.fixture(scope="module")
def stack(stack_factory, receiver):
    return stack_factory(
        ("web", "worker", "maintenance", "callbacks"),
        CALLBACK_ALLOWED_HOSTS=f"127.0.0.1:{receiver.port}",
        CALLBACK_ALLOWED_NETWORKS="127.0.0.0/8",
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
    [
        "http://localhost:9/hook",
        "ftp://127.0.0.1/hook",
        "http://user:pw@127.0.0.1/hook",
        "http://127.0.0.1:99999/x",
        5,
        "http://127.0.0.1:6379/",
    ],
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

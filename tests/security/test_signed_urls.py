"""Signed URLs on a live stack with API keys on: a signed /image URL serves its result without a key until it
expires and no further; it reaches no other route and no other entry; a cache in front keeps it no longer; the
secret never reaches a log; without SIGNED_URL_SECRET a request cannot ask for one."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import httpx
import pytest

from imagecache.auth.hashed_secrets import HashedSecrets
from imagecache_client import Extras, ImageCacheClient
from testkit.upstream import make_query, simulate

SECRET = "signing-secret-that-must-stay-put"


@pytest.fixture(scope="module")
def signed(stack_factory, tmp_path_factory):
    """(the stack, its API key)."""
    keys = tmp_path_factory.mktemp("keys") / "keys"
    key = HashedSecrets(keys).add("signer")
    return stack_factory(API_KEYS_FILE=str(keys), SIGNED_URL_SECRET=f"{SECRET}, an-older-one"), key


def ask(stack, key, **fields) -> httpx.Response:
    body = {"api_query": make_query(), **fields}
    return httpx.post(stack.url + "/requests", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=10)


def shared_max_age(response: httpx.Response) -> int:
    """How long a shared cache may keep the answer; a browser must ask again each time (max-age=0)."""
    cache_control = response.headers["cache-control"]
    assert "max-age=0" in cache_control.replace("s-maxage", ""), cache_control
    return int(re.search(r"s-maxage=(\d+)", cache_control)[1])


def test_a_signed_url_serves_without_a_key_until_it_expires(signed, simulator):
    stack, key = signed
    simulate(simulator)
    answer = ask(stack, key, signed_url_ttl=2).json()
    url = stack.url + answer["signed_url"]
    assert urlsplit(answer["signed_url"]).path == f"/image/{answer['id']}"
    served = httpx.get(url, timeout=30)
    assert served.status_code == 200 and served.content.startswith(b"\x89PNG")
    assert 0 <= shared_max_age(served) <= 2  # a cache in front keeps it no longer than the URL is good
    assert httpx.get(f"{stack.url}/image/{answer['id']}").status_code == 401  # the bare id still needs a key
    time.sleep(2.1)
    expired = httpx.get(url)
    assert expired.status_code == 403 and "expired" in expired.json()["msg"]


def test_a_changed_signed_url_is_a_403_that_says_so_and_reaches_nothing_else(signed, simulator):
    stack, key = signed
    simulate(simulator)
    answer = ask(stack, key, signed_url_ttl=600).json()
    other = ask(stack, key).json()["id"]
    path, _, query = answer["signed_url"].partition("?")
    expires, sig = (pair.partition("=")[2] for pair in query.split("&"))
    for changed in (
        f"{path}?expires={int(expires) + 1}&sig={sig}",
        f"{path}?expires={expires}&sig={sig[:-1]}{'B' if sig.endswith('A') else 'A'}",
        f"/image/{other}?{query}",
    ):
        refused = httpx.get(stack.url + changed)
        assert refused.status_code == 403 and "does not match" in refused.json()["msg"], changed
    half = httpx.get(f"{stack.url}{path}?sig={sig}")
    assert half.status_code == 403 and "both" in half.json()["msg"]
    for route in ("/info", "/requests/" + answer["id"], "/metrics"):
        assert httpx.get(f"{stack.url}{route}?{query}").status_code == 401  # a signature opens /image alone
    assert shared_max_age(httpx.get(stack.url + answer["signed_url"], timeout=30)) > 250  # the entry's 300 s bound it
    for part in stack.parts.values():
        assert SECRET not in part.log()


def test_the_ttl_is_checked_and_never_takes_a_url_past_its_entry(signed):
    stack, key = signed
    assert ask(stack, key, signed_url_ttl=0).status_code == 400
    answer = ask(stack, key, ttl=60, signed_url_ttl=3600).json()
    expires = int(answer["signed_url"].rpartition("expires=")[2].partition("&")[0])
    assert expires <= answer["expires_at"]


def test_the_client_asks_for_one_and_hands_back_a_whole_url(signed, simulator, tmp_path):
    stack, key = signed
    simulate(simulator)
    with ImageCacheClient(stack.url, api_key=key, cache_dir=tmp_path) as client:
        entry = client.request(make_query(), extras=Extras(signed_url_ttl=60))
    assert entry.signed_url.startswith(stack.url + "/image/" + entry.id + "?expires=")
    assert httpx.get(entry.signed_url, timeout=30).status_code == 200


def test_without_a_secret_a_request_cannot_ask_for_a_signed_url(stack_factory):
    stack = stack_factory(parts=("web",))
    refused = httpx.post(stack.url + "/requests", json={"api_query": make_query(), "signed_url_ttl": 60})
    assert refused.status_code == 400 and "SIGNED_URL_SECRET" in refused.json()["msg"]
    assert "signed_url" not in httpx.post(stack.url + "/requests", json={"api_query": make_query()}).json()

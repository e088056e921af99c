"""nginx in front (deploy/nginx/imagecache.conf.template) over two web instances with API keys on: TLS, cached
images that never reach the app again, one app request for a cold miss, keys in the cache key, event streams
unbuffered, uploads streamed, request ids, and a web instance lost."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from imagecache.auth.hashed_secrets import HashedSecrets
from imagecache.auth.static_tokens import StaticTokens
from imagecache.web import cache_status
from testkit.proxy import Proxy
from testkit.tls import self_signed
from testkit.upstream import make_query, simulate

pytestmark = pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed (.ci/run installs it)")

IMAGE_GETS = re.compile(
    r'imagecache_http_request_duration_seconds_count\{method="GET",route="/image/\{entry_id\}",status="200"\} (\S+)'
)


@pytest.fixture(scope="module")
def front(stack_factory, tmp_path_factory):
    """(the proxy, the API key, the /v1 token, the stack, its two web URLs)."""
    secrets = tmp_path_factory.mktemp("secrets")
    key = HashedSecrets(secrets / "keys").add("proxy-test")
    token = StaticTokens(secrets / "tokens").add("proxy-user")
    stack = stack_factory(
        API_KEYS_FILE=str(secrets / "keys"),
        AUTH_MODE="static",
        AUTH_TOKENS_FILE=str(secrets / "tokens"),
        SIGNED_URL_SECRET="proxy-signing-secret",
    )
    webs = [stack.url, stack.start_web()]
    directory = tmp_path_factory.mktemp("nginx")
    cert, private = self_signed(directory)
    proxy = Proxy(directory, [url.removeprefix("http://") for url in webs], cert, private, read_timeout=200).start()
    yield proxy, key, token, stack, webs
    proxy.stop()


def image_gets(front) -> float:
    """GET /image answers the web instances gave (their /metrics, summed)."""
    _, key, _, _, webs = front
    total = 0.0
    for url in webs:
        metrics = httpx.get(url + "/metrics", headers={"Authorization": f"Bearer {key}"}, timeout=10).text
        total += sum(float(count) for count in IMAGE_GETS.findall(metrics))
    return total


def test_a_repeat_image_request_is_answered_by_the_proxy_never_the_app(front, simulator):
    proxy, key, *_ = front
    simulate(simulator)
    with proxy.client(headers={"Authorization": f"Bearer {key}"}) as client:
        entry_id = client.post("/requests", json={"api_query": make_query()}).json()["id"]
        first = client.get(f"/image/{entry_id}")
        assert first.status_code == 200 and first.headers["x-cache-status"] == "MISS"
        app_said, proxy_said = first.headers.get_list("cache-status", split_commas=True)
        assert app_said in (cache_status.HIT, cache_status.COALESCED) and proxy_said == "nginx; fwd=miss"
        before = image_gets(front)
        repeats = [client.get(f"/image/{entry_id}") for _ in range(20)]
        assert {r.headers["x-cache-status"] for r in repeats} == {"HIT"} and repeats[0].content == first.content
        # the origin's member first, then the proxy's
        assert repeats[0].headers.get_list("cache-status", split_commas=True) == [app_said, "nginx; hit"]
        assert image_gets(front) == before  # none of the twenty reached the app


def test_a_signed_url_is_cached_for_anyone_holding_it_and_never_past_its_expiry(front, simulator):
    proxy, key, *_ = front
    simulate(simulator)
    with proxy.client(headers={"Authorization": f"Bearer {key}"}) as client:
        entry = client.post("/requests", json={"api_query": make_query(), "signed_url_ttl": 4}).json()
        assert client.get(f"/image/{entry['id']}").status_code == 200  # produced: the URL's life is left to cache
        signed_url = entry["signed_url"]
    with proxy.client() as anonymous:
        first, again = anonymous.get(signed_url), anonymous.get(signed_url)
        assert (first.status_code, again.status_code, again.headers["x-cache-status"]) == (200, 200, "HIT")
        assert anonymous.get(signed_url.partition("?")[0]).status_code == 401  # the copy is the signed URL's alone
        time.sleep(4.1)
        expired = anonymous.get(signed_url)
        assert expired.status_code == 403 and expired.headers["x-cache-status"] != "HIT"


def test_a_cold_miss_reaches_the_app_once(front, simulator):
    proxy, key, *_ = front
    simulate(simulator, latency_ms=1000)
    with proxy.client(headers={"Authorization": f"Bearer {key}"}) as client:
        entry_id = client.post("/requests", json={"api_query": make_query()}).json()["id"]
        before = image_gets(front)
        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(lambda _: client.get(f"/image/{entry_id}").status_code, range(20)))
    assert answers == [200] * 20 and image_gets(front) - before == 1


def test_a_client_without_the_key_is_never_served_a_cached_copy(front, simulator):
    proxy, key, *_ = front
    simulate(simulator)
    with proxy.client(headers={"Authorization": f"Bearer {key}"}) as client:
        entry_id = client.post("/requests", json={"api_query": make_query()}).json()["id"]
        assert client.get(f"/image/{entry_id}").status_code == 200
    with proxy.client() as anonymous:
        refused = anonymous.get(f"/image/{entry_id}")
    assert refused.status_code == 401 and refused.headers["x-cache-status"] == "MISS"


def test_request_ids_pass_through_and_every_answer_carries_its_own(front):
    proxy, key, *_ = front
    with proxy.client(headers={"Authorization": f"Bearer {key}"}) as client:
        assert client.get("/info", headers={"X-Request-ID": "abc123"}).headers["x-request-id"] == "abc123"
        assert re.fullmatch(r"[0-9a-f]{32}", client.get("/info").headers["x-request-id"])


def test_an_event_stream_comes_through_unbuffered(front, simulator):
    proxy, key, *_ = front
    simulate(simulator, latency_ms=1500)
    with proxy.client(headers={"Authorization": f"Bearer {key}"}) as client:
        entry_id = client.post("/requests", json={"api_query": make_query()}).json()["id"]
        started = time.monotonic()
        with client.stream("GET", "/events", params={"id": entry_id}) as stream:
            lines = stream.iter_lines()
            assert next(lines) == ": open" and time.monotonic() - started < 1  # before the result exists
            rest = list(lines)
    assert any('"status": "active"' in line for line in rest) and time.monotonic() - started >= 1


def test_a_large_upload_streams_through_and_comes_back_whole(front, tmp_path):
    proxy, _, token, *_ = front
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(64 * 1024 * 1024))
    with proxy.client(headers={"Authorization": token}, timeout=120) as client:
        cache_id = client.post("/v1/cache_id", json={"name": "big"}).json()["cache_id"]
        with open(path, "rb") as file:
            stored = client.post(f"/v1/cache/{cache_id}", files={"file": ("big.bin", file)})
        assert stored.status_code == 200, stored.text
        download = hashlib.sha256(client.get(f"/v1/cache/{cache_id}").content).hexdigest()
    assert download == hashlib.sha256(path.read_bytes()).hexdigest()


def test_plain_http_is_sent_to_https(front):
    proxy, *_ = front
    redirect = httpx.get(f"http://127.0.0.1:{proxy.http_port}/info", timeout=10)
    assert redirect.status_code == 308 and redirect.headers["location"].startswith("https://")


def test_a_lost_web_instance_is_passed_over(front, simulator):
    proxy, key, _, stack, _ = front
    simulate(simulator)
    stack.parts["web"].kill()
    with proxy.client(headers={"Authorization": f"Bearer {key}"}) as client:
        answers = [client.post("/requests", json={"api_query": make_query()}).status_code for _ in range(10)]
    assert answers == [200] * 10

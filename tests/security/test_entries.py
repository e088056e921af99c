"""What a client can do to entries others use: tags that keep the purge promise, views that tell the truth
across processes, queries bounded and counted, and CORS answers that no cache hands to another origin."""

from __future__ import annotations

import json
import re
import shutil

import httpx
import pytest

from testkit.processes import wait_until
from testkit.proxy import Proxy
from testkit.tls import self_signed
from testkit.upstream import make_query, simulate

ORIGIN = "https://dashboards.example"
QUERY_BYTES = re.compile(r"^imagecache_query_bytes (\S+)$", re.M)


@pytest.fixture(scope="module")
def stack(stack_factory):
    return stack_factory(CORS_ALLOW_ORIGINS=ORIGIN)


@pytest.fixture(scope="module")
def other_web(stack) -> str:
    """A second web process of the stack: a view it remembers must change when the first one changes it."""
    return stack.start_web()


def produced(stack, simulator, **fields) -> str:
    simulate(simulator)
    entry_id = stack.request(make_query(), **fields)["id"]
    assert httpx.get(f"{stack.url}/image/{entry_id}", timeout=30).status_code == 200
    return entry_id


def post(url: str, body: dict) -> httpx.Response:
    return httpx.post(url + "/requests", json=body, timeout=10)


def test_tags_past_an_entrys_cap_are_a_400_naming_it_and_every_accepted_tag_purges(stack, simulator):
    query = make_query()
    simulate(simulator)
    entry_id = stack.request(query)["id"]
    for n in range(4):
        assert post(stack.url, {"api_query": query, "tags": [f"batch{n}:{i}" for i in range(16)]}).status_code == 200
    refused = post(stack.url, {"api_query": query, "tags": ["device:42"]})
    assert refused.status_code == 400 and refused.json()["loc"] == "tags"
    assert "at most 64 tags" in refused.json()["msg"]
    view = httpx.get(f"{stack.url}/requests/{entry_id}", timeout=10).json()
    assert "device:42" not in view["tags"] and len(view["tags"]) == 64
    assert httpx.post(stack.url + "/purge", json={"tags": ["device:42"]}, timeout=10).json()["purged"] == 0
    assert httpx.post(stack.url + "/purge", json={"tags": ["batch3:15"]}, timeout=10).json()["purged"] == 1
    assert httpx.get(f"{stack.url}/requests/{entry_id}", timeout=10).status_code == 404


def test_views_in_every_process_show_tags_and_purge_marks_as_redis_holds_them(stack, other_web, simulator):
    query = make_query()
    simulate(simulator)
    entry_id = stack.request(query)["id"]
    assert httpx.get(f"{other_web}/image/{entry_id}", timeout=30).status_code == 200
    assert "tags" not in httpx.get(f"{other_web}/requests/{entry_id}", timeout=10).json()  # remembered, settled
    assert post(stack.url, {"api_query": query, "tags": ["region:eu"]}).status_code == 200

    def other_view() -> dict:
        return httpx.get(f"{other_web}/requests/{entry_id}", timeout=10).json()

    wait_until(lambda: other_view().get("tags") == ["region:eu"], 5, "the other process to see the new tag")
    purge = httpx.post(stack.url + "/purge", json={"tags": ["region:eu"], "soft": True}, timeout=10)
    assert purge.json()["purged"] == 1
    wait_until(lambda: other_view().get("purged_at", 0) > 0, 5, "the other process to see the soft purge")
    with httpx.stream("GET", f"{other_web}/events", params={"id": entry_id}, timeout=10) as events:
        data = next(line for line in events.iter_lines() if line.startswith("data: "))
    assert json.loads(data[6:])["tags"] == ["region:eu"] and json.loads(data[6:])["purged_at"] > 0


def test_a_query_past_query_max_bytes_is_a_413_naming_it_and_changes_nothing(stack):
    before = stack.info()
    huge = make_query(padding="x" * 70_000)
    response = post(stack.url, {"api_query": huge})
    assert response.status_code == 413 and "QUERY_MAX_BYTES is 65536" in response.json()["msg"]
    after = stack.info()
    assert (after["misses"], after["query_bytes"]) == (before["misses"], before["query_bytes"])


def test_the_bytes_the_index_holds_for_queries_are_counted_in_info_and_metrics(stack, simulator):
    before = stack.info()["query_bytes"]
    query = make_query(padding="y" * 10_000)
    entry_id = produced(stack, simulator, tags=["sized"])
    sized = stack.request(query, tags=["sized"])["id"]
    grown = stack.info()["query_bytes"]
    assert grown - before > 10_000
    metrics = httpx.get(stack.url + "/metrics", timeout=10).text
    assert float(QUERY_BYTES.search(metrics).group(1)) == grown
    assert httpx.post(stack.url + "/purge", json={"tags": ["sized"]}, timeout=10).json()["purged"] == 2
    assert stack.info()["query_bytes"] == before and entry_id != sized


@pytest.mark.parametrize("origin", [ORIGIN, "https://elsewhere.example", None])
@pytest.mark.parametrize("path", ["/info", "/requests/nope", "/health", "/openapi.json"])
def test_every_answer_says_vary_origin_when_cors_is_on(stack, origin, path):
    headers = {"Origin": origin} if origin else {}
    response = httpx.get(stack.url + path, headers=headers, timeout=10)
    assert "Origin" in response.headers.get("Vary", "")
    allowed = response.headers.get("Access-Control-Allow-Origin")
    assert allowed == (ORIGIN if origin == ORIGIN else None)


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed (.ci/run installs it)")
def test_the_proxy_never_hands_one_origins_cors_answer_to_another(stack, simulator, tmp_path):
    entry_id = produced(stack, simulator)
    cert, key = self_signed(tmp_path)
    proxy = Proxy(tmp_path / "nginx", [stack.url.removeprefix("http://")], cert, key, read_timeout=30).start()
    try:
        with proxy.client() as client:
            image = f"/image/{entry_id}"
            first = client.get(image, headers={"Origin": ORIGIN})
            assert first.headers["Access-Control-Allow-Origin"] == ORIGIN and "Origin" in first.headers["Vary"]
            assert client.get(image, headers={"Origin": ORIGIN}).headers["X-Cache-Status"] == "HIT"
            for other in ({"Origin": "https://elsewhere.example"}, {}):
                answer = client.get(image, headers=other)
                assert answer.status_code == 200 and "Access-Control-Allow-Origin" not in answer.headers
    finally:
        proxy.stop()

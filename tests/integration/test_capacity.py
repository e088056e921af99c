"""CACHE_MAX_BYTES on a live stack: LRU eviction across processes, 507 for what can never fit."""

from __future__ import annotations

import httpx

from imagecache.auth.static_tokens import StaticTokens
from testkit.processes import wait_until
from testkit.upstream import make_query, simulate

IMAGE = 60_000
LIMIT = 200_000


def test_oldest_results_are_evicted_and_usage_stays_under_the_bound(stack_factory, simulator, tmp_path):
    token = StaticTokens(tmp_path / "tokens").add("alice")
    stack = stack_factory(CACHE_MAX_BYTES=str(LIMIT), AUTH_MODE="static", AUTH_TOKENS_FILE=str(tmp_path / "tokens"))
    simulate(simulator, pad_to=IMAGE)
    ids = []
    for _ in range(5):
        entry_id = stack.request(make_query())["id"]
        assert httpx.get(f"{stack.url}/image/{entry_id}", timeout=30).status_code == 200  # served: now cached
        ids.append(entry_id)

    info = stack.info()
    assert info["max_bytes"] == LIMIT and info["used_bytes"] <= LIMIT
    assert info["active_count"] == LIMIT // IMAGE
    assert httpx.get(f"{stack.url}/image/{ids[0]}").status_code == 404  # evicted, though served before
    assert httpx.get(f"{stack.url}/image/{ids[-1]}").status_code == 200
    assert stack.request(make_query())["status"] == "pending"

    auth = {"Authorization": token}
    cache_id = httpx.post(stack.url + "/v1/cache_id", headers=auth, json={"big": 1}).json()["cache_id"]
    too_big = httpx.post(f"{stack.url}/v1/cache/{cache_id}", headers=auth, files={"file": ("f", b"x" * (LIMIT + 1))})
    assert too_big.status_code == 507 and "CACHE_MAX_BYTES" in too_big.json()["error"]
    fits = httpx.post(f"{stack.url}/v1/cache/{cache_id}", headers=auth, files={"file": ("f", b"y" * 150_000)})
    assert fits.status_code == 200
    wait_until(lambda: stack.info()["used_bytes"] <= LIMIT, 10, "usage under the bound")
    assert httpx.get(f"{stack.url}/v1/cache/{cache_id}", headers=auth).content == b"y" * 150_000

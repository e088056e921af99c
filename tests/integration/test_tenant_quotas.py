"""Tenants' quotas through a live stack with API keys and a slow stand-in upstream: a 429 that names the quota and
says when to come back, single flight across tenants with each counted, budgets of stored bytes, and each
configured tenant's row in /info and /metrics (and no one else's)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from imagecache.auth.hashed_secrets import HashedSecrets
from imagecache_client import AsyncImageCacheClient, ImageCacheClient, OverQuota
from testkit.upstream import make_query, simulate, upstream_stats

TENANTS = "alpha: pending=2; beta; delta: stored_bytes=100K; *: fresh_per_minute=1"


@pytest.fixture(scope="module")
def tenants(stack_factory, tmp_path_factory):
    """(the stack, each tenant's key by name)."""
    path = tmp_path_factory.mktemp("keys") / "keys"
    keys = {name: HashedSecrets(path).add(name) for name in ("alpha", "beta", "gamma", "delta")}
    return stack_factory(API_KEYS_FILE=str(path), TENANTS=TENANTS), keys


def post(stack, key: str, query: dict) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"}
    return httpx.post(stack.url + "/requests", json={"api_query": query}, headers=headers, timeout=10)


def image(stack, key: str, entry_id: str) -> httpx.Response:
    return httpx.get(f"{stack.url}/image/{entry_id}", headers={"Authorization": f"Bearer {key}"}, timeout=30)


def row(stack, key: str, name: str) -> dict:
    info = httpx.get(stack.url + "/info", headers={"Authorization": f"Bearer {key}"}, timeout=10).json()
    return next(tenant for tenant in info["tenants"] if tenant["name"] == name)


def test_past_its_pending_quota_a_tenant_is_told_which_and_when_while_others_share_its_fetch(tenants, simulator):
    stack, keys = tenants
    simulate(simulator, latency_ms=1000)
    shared, second, third = make_query(), make_query(), make_query()
    first = post(stack, keys["alpha"], shared).json()["id"]
    assert post(stack, keys["alpha"], second).status_code == 200
    refused = post(stack, keys["alpha"], third)
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["type"] == "over_quota" and refused.json()["loc"] == "pending"
    assert "'alpha' is at its pending quota (2)" in refused.json()["msg"]
    joined = post(stack, keys["beta"], shared)  # another tenant, the same query: one fetch, each counted
    assert joined.json()["id"] == first and "coalesced" in joined.headers["Cache-Status"]
    assert post(stack, keys["alpha"], shared).json()["id"] == first  # joining costs nothing: never refused
    assert image(stack, keys["beta"], first).status_code == 200
    assert upstream_stats(simulator)["calls"] == 2  # alpha's two queries, once each
    alpha, beta = row(stack, keys["beta"], "alpha"), row(stack, keys["beta"], "beta")
    assert (alpha["requests"]["misses"], alpha["requests"]["dedupes"], alpha["refused"]["pending"]) == (2, 1, 1)
    assert (beta["requests"]["misses"], beta["requests"]["dedupes"]) == (0, 1)
    assert alpha["quotas"] == {"pending": 2} and beta["quotas"] == {}
    again = post(stack, keys["alpha"], third)  # its pending entries settled: room again
    assert again.status_code == 200 and image(stack, keys["alpha"], again.json()["id"]).status_code == 200


def test_a_tenant_no_one_names_has_everyone_else_s_quota_and_no_row(tenants, simulator):
    stack, keys = tenants
    simulate(simulator)
    assert post(stack, keys["gamma"], make_query()).status_code == 200
    refused = post(stack, keys["gamma"], make_query())
    assert refused.status_code == 429 and refused.json()["loc"] == "fresh_per_minute"
    assert 55 <= int(refused.headers["Retry-After"]) <= 60  # one a minute: the next fits a minute after the first
    info = httpx.get(stack.url + "/info", headers={"Authorization": f"Bearer {keys['gamma']}"}, timeout=10).json()
    assert [tenant["name"] for tenant in info["tenants"]] == ["alpha", "beta", "delta"]
    metrics = httpx.get(stack.url + "/metrics", headers={"Authorization": f"Bearer {keys['gamma']}"}).text
    assert 'imagecache_tenant_refused_total{quota="pending",tenant="alpha"} 1.0' in metrics
    assert 'imagecache_tenant_quota{quota="stored_bytes",tenant="delta"} 102400.0' in metrics
    assert 'tenant="gamma"' not in metrics  # labels come from configuration, not from who asked
    page = httpx.get(stack.url + "/info", headers={"Authorization": f"Bearer {keys['gamma']}", "Accept": "text/html"})
    assert "<h2>Tenants</h2>" in page.text and "<td>delta</td>" in page.text and "gamma" not in page.text


def test_a_tenant_past_its_stored_bytes_loses_its_own_oldest_result(tenants, simulator):
    stack, keys = tenants
    simulate(simulator, pad_to=40_000)  # the chart alone is about 24 KB
    ids = []
    for _ in range(3):
        entry_id = post(stack, keys["delta"], make_query()).json()["id"]
        assert image(stack, keys["delta"], entry_id).status_code == 200
        ids.append(entry_id)
    delta = row(stack, keys["delta"], "delta")
    assert delta["stored_bytes"] <= 100 * 1024 and delta["evicted"] == 1, delta
    assert image(stack, keys["delta"], ids[0]).status_code == 404  # its least recently used went
    assert all(image(stack, keys["delta"], entry_id).status_code == 200 for entry_id in ids[1:])


def test_a_result_larger_than_its_tenant_s_whole_budget_still_reaches_whoever_waits_for_it(tenants, simulator):
    stack, keys = tenants
    simulate(simulator, pad_to=120_000, latency_ms=500)
    query = make_query()
    entry_id = post(stack, keys["delta"], query).json()["id"]
    assert post(stack, keys["beta"], query).json()["id"] == entry_id  # beta joins delta's production
    for key in (keys["beta"], keys["delta"]):
        served = image(stack, key, entry_id)
        assert served.status_code == 200 and len(served.content) >= 120_000
    assert row(stack, keys["delta"], "delta")["evicted"] >= 2  # delta's older results made room for it


def test_purging_a_tenant_s_running_entries_frees_no_slot_until_their_runs_end(tenants, simulator):
    stack, keys = tenants
    simulate(simulator, latency_ms=2000)
    bearer = {"Authorization": f"Bearer {keys['alpha']}"}
    tagged = {"tags": ["mine"]}
    ids = [
        httpx.post(stack.url + "/requests", json={"api_query": make_query(), **tagged}, headers=bearer).json()["id"]
        for _ in range(2)
    ]
    while upstream_stats(simulator)["in_flight"] < 2:  # both runs under way
        time.sleep(0.05)
    assert httpx.post(stack.url + "/purge", json=tagged, headers=bearer).json()["purged"] == 2
    refused = post(stack, keys["alpha"], make_query())
    assert refused.status_code == 429 and refused.json()["loc"] == "pending"  # the runs go on: still alpha's
    assert row(stack, keys["alpha"], "alpha")["pending"] == 2
    began = time.monotonic()
    while (again := post(stack, keys["alpha"], make_query())).status_code == 429:
        time.sleep(0.2)
    recovered = time.monotonic() - began
    assert recovered < 5, recovered  # the runs ended: their slots are free again
    assert all(image(stack, keys["alpha"], entry_id).status_code == 404 for entry_id in ids)
    assert image(stack, keys["alpha"], again.json()["id"]).status_code == 200


def test_both_clients_raise_over_quota_naming_it(tenants, simulator):
    stack, keys = tenants
    simulate(simulator, latency_ms=1000)
    client = ImageCacheClient(stack.url, keys["alpha"])
    client.request(make_query())
    client.request(make_query())
    with pytest.raises(OverQuota) as refused:
        client.request(make_query())
    assert refused.value.quota == "pending" and refused.value.retry_after >= 1 and refused.value.status == 429

    async def asked() -> OverQuota:
        async with AsyncImageCacheClient(stack.url, keys["alpha"]) as async_client:
            with pytest.raises(OverQuota) as raised:
                await async_client.request(make_query())
            return raised.value

    assert asyncio.run(asked()).quota == "pending"

"""Tenants served fairly, through a live stack with API keys: a tenant with a backlog does not hold back another
tenant's handful, and a lone tenant still gets every slot."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from imagecache.auth.hashed_secrets import HashedSecrets
from testkit.upstream import make_query, simulate, upstream_stats

CAP, RUN_MS, BACKLOG = 2, 500, 20


@pytest.fixture(scope="module")
def tenants(stack_factory, tmp_path_factory):
    """(the stack, alpha's key, beta's key)."""
    keys = tmp_path_factory.mktemp("keys") / "keys"
    alpha, beta = HashedSecrets(keys).add("alpha"), HashedSecrets(keys).add("beta")
    stack = stack_factory(API_KEYS_FILE=str(keys), UPSTREAM_MAX_CONCURRENCY=str(CAP), WORKER_CONCURRENCY="8")
    return stack, alpha, beta


def posted(stack, key: str, count: int) -> list[str]:
    bearer = {"Authorization": f"Bearer {key}"}
    return [
        httpx.post(stack.url + "/requests", json={"api_query": make_query()}, headers=bearer, timeout=10).json()["id"]
        for _ in range(count)
    ]


def served_at(stack, key: str, entry_id: str) -> float:
    bearer = {"Authorization": f"Bearer {key}"}
    while httpx.get(f"{stack.url}/image/{entry_id}", headers=bearer, timeout=60).status_code != 200:
        pass
    return time.monotonic()


def test_a_backlog_does_not_hold_back_another_tenants_handful(tenants, simulator):
    stack, alpha, beta = tenants
    simulate(simulator, latency_ms=RUN_MS)
    alphas = posted(stack, alpha, BACKLOG)
    began = time.monotonic()
    betas = posted(stack, beta, 2)
    with ThreadPoolExecutor(len(betas)) as pool:
        beta_done = max(pool.map(lambda entry_id: served_at(stack, beta, entry_id), betas)) - began
    backlog = BACKLOG / CAP * RUN_MS / 1000  # what beta waited behind alpha, first come first served: 5 s
    assert beta_done < 4 * RUN_MS / 1000 < backlog / 2, beta_done  # a turn or two, not alpha's backlog
    assert upstream_stats(simulator)["peak_concurrency"] == CAP  # the cap holds as ever
    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(lambda entry_id: served_at(stack, alpha, entry_id) > 0, alphas))


def test_a_lone_tenant_still_gets_every_slot(tenants, simulator):
    stack, alpha, _ = tenants
    simulate(simulator, latency_ms=RUN_MS)
    began = time.monotonic()
    ids = posted(stack, alpha, 4 * CAP)
    with ThreadPoolExecutor(len(ids)) as pool:
        done = max(pool.map(lambda entry_id: served_at(stack, alpha, entry_id), ids)) - began
    assert upstream_stats(simulator)["peak_concurrency"] == CAP and done < (4 + 2) * RUN_MS / 1000

"""Tags and POST /purge through a live stack."""

from __future__ import annotations

import uuid

import httpx
import pytest

from testkit.upstream import make_query, simulate


@pytest.fixture(scope="module")
def stack(stack_factory):
    return stack_factory()


def produced(stack, *tags: str) -> tuple[dict, str]:
    query = make_query()
    entry_id = stack.request(query, tags=list(tags))["id"]
    assert httpx.get(f"{stack.url}/image/{entry_id}", timeout=30).status_code == 200
    return query, entry_id


def purge(stack, body) -> httpx.Response:
    return httpx.post(stack.url + "/purge", json=body, timeout=30)


def test_a_hard_purge_removes_the_tagged_results_and_says_how_many(stack, simulator):
    simulate(simulator)
    device = f"device:{uuid.uuid4().hex[:8]}"
    (_, first), (_, second), (_, untouched) = produced(stack, device), produced(stack, device, "x"), produced(stack)
    summary = httpx.get(f"{stack.url}/requests/{first}", timeout=10).json()
    assert summary["tags"] == [device]
    assert purge(stack, {"tags": [device]}).json() == {"purged": 2, "soft": False}
    for gone in (first, second):
        assert httpx.get(f"{stack.url}/image/{gone}", timeout=10).status_code == 404
    assert httpx.get(f"{stack.url}/image/{untouched}", timeout=10).status_code == 200
    assert purge(stack, {"tags": [device]}).json()["purged"] == 0


def test_a_soft_purge_serves_the_result_only_to_requests_that_allow_stale(stack, simulator):
    simulate(simulator)
    dashboard = f"dashboard:{uuid.uuid4().hex[:8]}"
    query, entry_id = produced(stack, dashboard)
    assert purge(stack, {"tags": [dashboard], "soft": True}).json() == {"purged": 1, "soft": True}
    allowing = stack.request(query, max_age=3600, stale_while_revalidate=600)
    assert (allowing["id"], allowing["status"]) == (entry_id, "stale")
    assert httpx.get(f"{stack.url}/image/{entry_id}", timeout=10).status_code == 200  # handed-out ids still serve
    assert stack.request(query)["id"] != entry_id  # the refresh (or, once it lands, its result)


@pytest.mark.parametrize(
    "tags",
    [["t"] * 17, ["x" * 129], ["line\nbreak"], [""], [5], "device:1"],
)
def test_bad_tags_are_a_400_and_change_nothing(stack, tags):
    before = stack.info()["misses"]
    for response in (
        httpx.post(stack.url + "/requests", json={"api_query": make_query(), "tags": tags}, timeout=10),
        purge(stack, {"tags": tags}),
    ):
        assert response.status_code == 400 and response.json()["loc"] == "tags"
    assert stack.info()["misses"] == before


def test_a_purge_names_at_least_one_tag_and_soft_is_a_boolean(stack):
    assert purge(stack, {"tags": []}).status_code == 400 and purge(stack, {}).status_code == 400
    assert purge(stack, {"tags": ["a"], "soft": "yes"}).status_code == 400

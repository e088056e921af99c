"""The Kentik-compatible API against a live stack: gunicorn, RQ workers, Redis, the simulator."""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime

import httpx
import pytest
from PIL import Image

from testkit.processes import wait_until
from testkit.upstream import make_query, simulate, upstream_stats


@pytest.fixture(scope="module")
def stack(stack_factory):
    return stack_factory(MAX_BODY_BYTES="2048", ERROR_TTL="2", WORKER_CONCURRENCY="8")


@pytest.fixture(autouse=True)
def quiet_upstream(simulator):
    simulate(simulator)


def post(stack, body, **kwargs):
    return httpx.post(stack.url + "/requests", timeout=10, **kwargs, **({"json": body} if body is not None else {}))


def image(stack, entry_id, **kwargs):
    return httpx.get(f"{stack.url}/image/{entry_id}", timeout=30, **kwargs)


@pytest.mark.parametrize(
    ("kind", "mime"),
    [("png", "image/png"), ("jpg", "image/jpeg"), ("svg", "image/svg+xml"), ("pdf", "application/pdf")],
)
def test_post_then_get_returns_the_image(stack, kind, mime):
    created = stack.request(make_query(kind), ttl=600)
    assert created["status"] == "pending"
    digest, expiry = created["id"].split("_")
    assert len(digest) == 64 and abs(float(expiry) - (time.time() + 600)) < 5
    response = image(stack, created["id"])
    assert response.status_code == 200
    assert response.headers["content-type"] == mime
    assert int(response.headers["content-length"]) == len(response.content)
    if kind in ("png", "jpg"):
        Image.open(io.BytesIO(response.content)).verify()


def test_same_query_in_any_key_order_is_one_entry(stack, simulator):
    query = make_query()
    reordered = {"imageType": query["imageType"], "queries": query["queries"]}
    first = stack.request(query)
    assert stack.request(reordered)["id"] == first["id"]
    assert image(stack, first["id"]).status_code == 200
    again = stack.request(query)
    assert again == {**first, "status": "active"}
    assert upstream_stats(simulator)["calls"] == 1


def test_fifty_concurrent_identical_posts_make_one_upstream_call(stack, simulator):
    simulate(simulator, latency_ms=300)
    query = make_query()
    with ThreadPoolExecutor(50) as pool:
        ids = set(pool.map(lambda _: stack.request(query)["id"], range(50)))
    assert len(ids) == 1
    assert image(stack, ids.pop()).status_code == 200
    assert upstream_stats(simulator)["calls"] == 1


def test_status_route_answers_at_once(stack, simulator):
    simulate(simulator, latency_ms=1500)
    created = stack.request(make_query())
    started = time.monotonic()
    response = httpx.get(f"{stack.url}/requests/{created['id']}")
    assert time.monotonic() - started < 1.0
    assert response.json()["status"] == "pending"
    assert image(stack, created["id"]).status_code == 200
    assert httpx.get(f"{stack.url}/requests/{created['id']}").json()["status"] == "active"


def test_head_etag_and_ranges(stack):
    entry_id = stack.request(make_query())["id"]
    full = image(stack, entry_id)
    etag = full.headers["etag"]
    assert "immutable" in full.headers["cache-control"] and "max-age=" in full.headers["cache-control"]
    produced = httpx.get(f"{stack.url}/requests/{entry_id}").json()["completed_at"]
    assert parsedate_to_datetime(full.headers["last-modified"]).timestamp() == int(produced)

    head = httpx.head(f"{stack.url}/image/{entry_id}")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(full.content))

    assert image(stack, entry_id, headers={"If-None-Match": etag}).status_code == 304

    part = image(stack, entry_id, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == full.content[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(full.content)}"
    tail = image(stack, entry_id, headers={"Range": "bytes=-7"})
    assert tail.content == full.content[-7:]

    beyond = image(stack, entry_id, headers={"Range": f"bytes={len(full.content) + 5}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(full.content)}"


def test_upstream_rejection_is_answered_with_its_status(stack, simulator):
    entry_id = stack.request(make_query(metric=["buckets"]))["id"]
    response = image(stack, entry_id)
    assert response.status_code == 400
    assert response.json() == {"type": "Kentik API error", "loc": entry_id, "msg": "Invalid metric: buckets"}
    assert response.headers["imagecache-entry-status"] == "error"
    assert upstream_stats(simulator)["calls"] == 1


def test_definitive_error_is_reused_for_the_ttl(stack, simulator):
    query = make_query(metric=["buckets"])
    first = stack.request(query)
    image(stack, first["id"])
    time.sleep(2.5)  # past ERROR_TTL: a definitive error still stands
    again = stack.request(query)
    assert again["id"] == first["id"] and again["status"] == "error"
    assert upstream_stats(simulator)["calls"] == 1


def test_transient_error_is_retried_after_error_ttl(stack, simulator):
    simulate(simulator, fail_first=3, fail_status=503)  # every attempt of the first fetch fails
    query = make_query()
    first = stack.request(query)
    failed = image(stack, first["id"])
    assert failed.status_code == 503
    assert failed.json()["msg"] == "simulated upstream failure"
    assert upstream_stats(simulator)["calls"] == 3  # KENTIK_API_RETRIES=2: three attempts
    assert stack.request(query)["id"] == first["id"]  # fresh error: reused

    time.sleep(2.5)
    second = stack.request(query)
    assert second["id"] != first["id"] and second["status"] == "pending"
    assert image(stack, second["id"]).status_code == 200
    assert image(stack, first["id"]).status_code == 503  # the old id keeps its answer


def test_retries_recover_from_a_few_failures(stack, simulator):
    simulate(simulator, fail_first=2, fail_status=429)
    entry_id = stack.request(make_query())["id"]
    assert image(stack, entry_id).status_code == 200
    assert upstream_stats(simulator)["calls"] == 3


def test_refresh_and_max_age(stack, simulator):
    query = make_query()
    first = stack.request(query)
    image(stack, first["id"])
    assert stack.request(query, max_age=3600)["id"] == first["id"]
    time.sleep(1.1)
    fresh = stack.request(query, max_age=1)
    assert fresh["id"] != first["id"]
    image(stack, fresh["id"])
    refreshed = stack.request(query, refresh=True)
    assert refreshed["id"] not in (first["id"], fresh["id"])
    assert image(stack, refreshed["id"]).status_code == 200
    assert upstream_stats(simulator)["calls"] == 3


@pytest.mark.parametrize(
    ("body", "status", "loc"),
    [
        ({"ttl": 5}, 400, "api_query"),
        ({"api_query": None}, 400, "api_query"),
        ({"api_query": [1, 2]}, 400, "api_query"),
        ({"api_query": "text"}, 400, "api_query"),
        ({"api_query": {}, "ttl": 0}, 400, "ttl"),
        ({"api_query": {}, "ttl": -5}, 400, "ttl"),
        ({"api_query": {}, "ttl": "60"}, 400, "ttl"),
        ({"api_query": {}, "ttl": 1.5}, 400, "ttl"),
        ({"api_query": {}, "ttl": True}, 400, "ttl"),
        ({"api_query": {}, "ttl": 10**9}, 400, "ttl"),
        ({"api_query": {}, "max_age": -1}, 400, "max_age"),
        ({"api_query": {}, "refresh": "yes"}, 400, "refresh"),
        ([1, 2, 3], 400, "body"),
    ],
)
def test_bad_request_bodies_change_nothing(stack, body, status, loc):
    before = stack.info()
    response = post(stack, body)
    assert response.status_code == status
    error = response.json()
    assert error["loc"] == loc and error["type"] == "invalid request" and error["msg"]
    after = stack.info()
    assert (after["misses"], after["pending_count"]) == (before["misses"], before["pending_count"])


def test_body_that_is_not_json(stack):
    for raw in (b"{not json", b"", b"\xff\xfe", b'{"api_query": {"x": NaN}}'):
        response = post(stack, None, content=raw)
        assert response.status_code == 400 and response.json()["loc"] == "body"


def test_oversized_body_is_413(stack):
    response = post(stack, {"api_query": {"pad": "x" * 4096}})
    assert response.status_code == 413 and response.json()["type"] == "invalid request"


def test_unknown_malformed_and_expired_ids_are_404(stack):
    for entry_id in ("nope", "a" * 64 + "_9999999999", "a" * 64 + "_1000", "a" * 64 + "_1.5.5"):
        response = image(stack, entry_id)
        assert response.status_code == 404
        assert response.json() == {"type": "error", "loc": entry_id, "msg": "Image not found"}
    for escape in ("..%2F..%2Fetc%2Fpasswd", "%2e%2e", "a" * 64 + "_1%00"):
        assert image(stack, escape).status_code == 404
    assert httpx.get(f"{stack.url}/requests/nope").status_code == 404


def test_unknown_route_and_wrong_method(stack):
    missing = httpx.get(stack.url + "/nowhere")
    assert missing.status_code == 404 and set(missing.json()) == {"type", "loc", "msg"}
    wrong = httpx.delete(stack.url + "/requests")
    assert wrong.status_code == 405 and set(wrong.json()) == {"type", "loc", "msg"}


def test_info_pages_with_a_cursor(stack):
    for _ in range(5):
        stack.request(make_query())
    first = httpx.get(stack.url + "/info", params={"limit": 2}).json()
    for field in (
        "active_count",
        "pending_count",
        "active_entries",
        "pending_entries",
        "hits",
        "misses",
        "dedupes",
        "upstream_calls",
        "upstream_failures",
        "total_bytes",
        "queue_depth",
        "live_workers",
    ):
        assert field in first
    assert first["live_workers"] == 8
    listed = first["active_entries"] + first["pending_entries"] + first["error_entries"]
    assert len(listed) == 2 and first["next_cursor"]
    seen = {entry["id"] for entry in listed}
    cursor = first["next_cursor"]
    while cursor:
        page = httpx.get(stack.url + "/info", params={"limit": 2, "cursor": cursor}).json()
        seen |= {e["id"] for e in page["active_entries"] + page["pending_entries"] + page["error_entries"]}
        cursor = page["next_cursor"]
    total = page["active_count"] + page["pending_count"] + page["error_count"]
    assert len(seen) == total
    assert httpx.get(stack.url + "/info", params={"cursor": "../x"}).status_code == 400
    assert httpx.get(stack.url + "/info", params={"limit": 0}).status_code == 400


def test_favicon_health_and_liveness(stack):
    icon = httpx.get(stack.url + "/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    health = httpx.get(stack.url + "/health")
    assert health.status_code == 200 and health.json()["checks"] == {"redis": "ok", "storage": "ok"}
    assert httpx.get(stack.url + "/health/live").json() == {"status": "ok"}


def test_pending_wait_times_out_with_504_and_retry_after(stack_factory, simulator):
    short = stack_factory(ENTRY_WAIT_TIMEOUT="1")
    simulate(simulator, latency_ms=2500)
    entry_id = short.request(make_query())["id"]
    started = time.monotonic()
    response = image(short, entry_id)
    assert response.status_code == 504 and response.headers["retry-after"]
    assert response.headers["imagecache-entry-status"] == "pending"
    assert 0.9 < time.monotonic() - started < 2.5
    time.sleep(2)
    assert image(short, entry_id).status_code == 200  # the job went on


def test_health_names_what_is_down(stack_factory, tmp_path):
    broken = stack_factory(
        parts=("web",), STORAGE="minio", MINIO_HOST="127.0.0.1:1", MINIO_ACCESS_KEY="a", MINIO_SECRET_KEY="b"
    )
    response = httpx.get(broken.url + "/health", timeout=30)
    assert response.status_code == 503
    assert response.json()["down"] == ["storage"]


def test_upstream_cap_holds_across_worker_threads(stack_factory, simulator):
    capped = stack_factory(WORKER_CONCURRENCY="8", UPSTREAM_MAX_CONCURRENCY="2")
    simulate(simulator, latency_ms=400)
    ids = [capped.request(make_query())["id"] for _ in range(6)]
    assert all(image(capped, entry_id).status_code == 200 for entry_id in ids)
    stats = upstream_stats(simulator)
    assert stats["calls"] == 6 and stats["peak_concurrency"] == 2


def test_upstream_timeouts_end_as_504(stack_factory, simulator):
    impatient = stack_factory(KENTIK_API_TIMEOUT="0.3", KENTIK_API_RETRIES="1")
    simulate(simulator, latency_ms=1000)
    response = image(impatient, impatient.request(make_query())["id"])
    assert response.status_code == 504 and "timed out" in response.json()["msg"]


def test_unreachable_upstream_ends_as_502(stack_factory, redis_url):
    from testkit.processes import free_port

    lost = stack_factory(KENTIK_API_URL=f"http://127.0.0.1:{free_port()}", KENTIK_API_RETRIES="1")
    response = image(lost, lost.request(make_query())["id"])
    assert response.status_code == 502 and "cannot reach" in response.json()["msg"]


def test_expired_entries_are_pruned_with_their_blobs(stack_factory, redis):
    short = stack_factory()
    entry_id = short.request(make_query(), ttl=1)["id"]
    assert image(short, entry_id).status_code == 200
    folder = short.workdir / "cache" / "images" / entry_id[:2]
    assert list(folder.glob(entry_id + ".*"))  # the result (its attempt's own key) and its .meta
    prefix = short.env["REDIS_PREFIX"]
    wait_until(
        lambda: not list(folder.glob(entry_id + "*")) and not redis.exists(f"{prefix}entry:{entry_id}"), 10, "pruning"
    )
    assert image(short, entry_id).status_code == 404
    assert not any(entry_id in key for key in redis.scan_iter(match=prefix + "*"))


def test_cors_when_configured(stack_factory):
    open_stack = stack_factory(parts=("web",), CORS_ALLOW_ORIGINS="https://dash.example.com")
    response = httpx.get(open_stack.url + "/health/live", headers={"Origin": "https://dash.example.com"})
    assert response.headers["access-control-allow-origin"] == "https://dash.example.com"
    exposed = {name.strip().lower() for name in response.headers["access-control-expose-headers"].split(",")}
    assert {"etag", "content-range", "cache-status"} <= exposed  # what a page's script may read of an answer
    assert (
        "access-control-allow-origin"
        not in httpx.get(
            stack_factory(parts=("web",)).url + "/health/live", headers={"Origin": "https://x.example"}
        ).headers
    )


def test_logs_never_show_the_kentik_token(stack):
    stack.request(make_query())
    for process in stack.parts.values():
        assert "kentik-secret-token" not in process.log()

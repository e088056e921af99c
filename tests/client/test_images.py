"""ImageCacheClient against a live stack: every call, typed errors, the local copy, offline fallback."""

from __future__ import annotations

import hashlib
import logging
import time

import httpx
import pytest

from imagecache_client import ImageCacheClient, NoLocalCopy, NotFound, Refused, Timeout, Unavailable, UpstreamError
from imagecache_client.ids import query_digest
from testkit.processes import free_port
from testkit.upstream import make_query, simulate


def test_request_answers_at_once_with_the_entry(images):
    query = make_query()
    entry = images.request(query, ttl=120)
    assert entry.id.startswith(query_digest(query) + "_")
    assert (entry.status, entry.cache_status) == ("pending", "imagecache; fwd=miss; stored")
    again = images.request(query, ttl=120)
    assert again.id == entry.id and again.cache_status.startswith("imagecache; hit")  # joined, or a hit by now


def test_fetch_returns_a_local_file_and_then_asks_nobody(stack, images, calls):
    query = make_query()
    path = images.fetch(query)
    served = httpx.get(f"{stack.url}/image/{images.request(query).id}").content
    assert path.read_bytes() == served and served.startswith(b"\x89PNG")
    assert path.name == hashlib.sha256(served).hexdigest()
    before = len(calls.seen)
    assert images.fetch(query) == path
    assert len(calls.seen) == before


def test_max_age_passes_over_a_local_copy_produced_too_long_ago(images, calls):
    query = make_query()
    first = images.fetch_entry(query)
    time.sleep(1.1)
    assert images.fetch_entry(query, max_age=60).from_cache
    before = len(calls.seen)
    again = images.fetch_entry(query, max_age=0)
    assert not again.from_cache and calls.seen[before][:2] == ("POST", "/requests")
    assert again.path == first.path  # the simulator draws one image per format: same bytes, same blob


def test_image_returns_the_bytes_and_keeps_them(stack, images, calls):
    entry = images.request(make_query("svg"))
    data = images.image(entry.id)
    assert b"<svg" in data[:200]
    asked = calls.statuses("/image/")
    assert images.image(entry.id) == data
    assert calls.statuses("/image/") == asked


def test_info_reports_the_cache(images):
    images.fetch(make_query())
    info = images.info(limit=5)
    assert info["active_count"] >= 1 and "next_cursor" in info


def test_unknown_and_malformed_ids_are_not_found(images):
    with pytest.raises(NotFound):
        images.image("a" * 64 + "_9999999999")
    with pytest.raises(NotFound):
        images.image("../../etc/passwd")


def test_an_upstream_refusal_is_an_upstream_error_with_its_status(images):
    with pytest.raises(UpstreamError) as raised:
        images.fetch(make_query(metric=["no_such_metric"]))
    assert raised.value.status == 400 and raised.value.message
    assert raised.value.exit_code == 4


def test_a_result_not_ready_in_time_is_a_timeout(stack, tmp_path, simulator):
    simulate(simulator, latency_ms=3000)
    try:
        with ImageCacheClient(stack.url, cache_dir=tmp_path / "local", wait_timeout=0.5) as slow:
            entry = slow.request(make_query())
            with pytest.raises(Timeout):
                slow.image(entry.id)
            slow.wait_timeout = 30
            assert slow.image(entry.id).startswith(b"\x89PNG")  # the same entry, ready later
    finally:
        simulate(simulator)


def test_a_long_production_is_waited_for_across_the_servers_504s(stack_factory, tmp_path, simulator):
    impatient = stack_factory(ENTRY_WAIT_TIMEOUT="1")
    simulate(simulator, latency_ms=2500)
    calls = []
    try:
        with (
            httpx.Client(timeout=30, event_hooks={"response": [lambda r: calls.append(r.status_code)]}) as http,
            ImageCacheClient(impatient.url, cache_dir=tmp_path, http=http) as client,
        ):
            assert client.fetch(make_query()).read_bytes().startswith(b"\x89PNG")
    finally:
        simulate(simulator)
    assert calls[0] == 200 and calls[1] == 504 and calls[-1] == 200  # POST, "still pending", the image


def test_an_upstream_503_is_the_upstreams_not_the_service_being_down(images, simulator):
    simulate(simulator, fail_first=3, fail_status=503)  # every attempt the server makes
    try:
        with pytest.raises(UpstreamError) as raised:
            images.fetch(make_query())
    finally:
        simulate(simulator)
    assert raised.value.status == 503 and raised.value.exit_code == 4


def test_no_server_is_unavailable(tmp_path):
    with ImageCacheClient(f"http://127.0.0.1:{free_port()}", cache_dir=tmp_path) as nowhere:
        with pytest.raises(Unavailable):
            nowhere.request(make_query())
        with pytest.raises(Unavailable):
            nowhere.info()


def test_offline_a_local_copy_is_used_with_a_warning(stack, images, caplog):
    query = make_query()
    path = images.fetch(query)
    other = make_query()
    stack.parts["web"].stop()
    try:
        assert images.fetch(query) == path  # unexpired: found by the query's hash, no server asked
        with caplog.at_level(logging.WARNING, logger="imagecache.client"):
            assert images.fetch(query, refresh=True) == path
        assert "cannot reach" in caplog.text and "local copy" in caplog.text
        with pytest.raises(NoLocalCopy, match="no unexpired copy"):
            images.fetch(other)
    finally:
        stack.start_part("web")
    assert images.fetch(other).is_file()


def test_api_keys_are_sent_as_bearer(stack_factory, tmp_path):
    keys = tmp_path / "keys"
    key = "k" * 43
    keys.write_text(f"{hashlib.sha256(key.encode()).hexdigest()} tester\n")
    keys.chmod(0o600)
    guarded = stack_factory(API_KEYS_FILE=str(keys))
    with ImageCacheClient(guarded.url, api_key=key, cache_dir=tmp_path / "a") as client:
        assert client.fetch(make_query()).is_file()
    with ImageCacheClient(guarded.url, cache_dir=tmp_path / "b") as keyless:
        with pytest.raises(Refused) as raised:
            keyless.fetch(make_query())
    assert raised.value.status == 401 and raised.value.exit_code == 1


def test_lru_eviction_keeps_the_local_cache_bounded(stack, tmp_path):
    with ImageCacheClient(stack.url, cache_dir=tmp_path / "small") as client:
        client.local.keep_recent = 0
        png, svg, pdf = (make_query(kind) for kind in ("png", "svg", "pdf"))  # the simulator: one image per format
        sizes = {kind: client.fetch_entry(query).size for kind, query in (("png", png), ("svg", svg), ("pdf", pdf))}
        client.local.clear()
        client.local.max_bytes = sizes["png"] + max(sizes["svg"], sizes["pdf"]) + 10
        client.fetch(png)
        client.fetch(svg)
        client.fetch(png)  # png is now more recently used than svg
        client.fetch(pdf)
        assert client.local_copy(svg) is None
        assert client.local_copy(png) is not None and client.local_copy(pdf) is not None
        assert client.local.used_bytes() == sizes["png"] + sizes["pdf"] <= client.local.max_bytes

"""ImageCache on a real Redis index, notifier and RQ queue: single flight, lookups, waiting, use."""

from __future__ import annotations

import threading
import time

import pytest
from redis import Redis

from imagecache.blobs.filesystem import FilesystemBlobStore
from imagecache.domain.entry_record import Reuse, Status
from imagecache.index.notifier import RedisEntryNotifier
from imagecache.redis_access.keys import RedisKeys
from imagecache.services.image_cache import TOUCH_INTERVAL, Ask, ImageCache, Limits
from imagecache_client.ids import EntryId
from testkit.index import activate
from testkit.job_kinds import served_kinds
from testkit.processes import wait_until

NOW = 1_800_000_000.0
QUERY = {"queries": [{"bucket": "Left +Y Axis"}], "imageType": "png"}


@pytest.fixture
def clock() -> dict[str, float]:
    return {"now": NOW}


def image_cache(entries, jobs, redis_url, prefix, tmp_path, clock, heard: list[str] | None = None) -> ImageCache:
    """`heard` gets every id the cache's notifier has handled (after the cache itself has)."""
    notifier = RedisEntryNotifier(Redis.from_url(redis_url, decode_responses=True), RedisKeys(prefix).done)
    limits = Limits(max_ttl=3600, error_ttl=30, pickup_grace=30, query_max_bytes=65536)
    kinds = served_kinds(Redis.from_url(redis_url, decode_responses=True), prefix)
    cache = ImageCache(entries, FilesystemBlobStore(tmp_path), jobs, notifier, kinds, limits, clock=clock)
    if heard is not None:
        notifier.add_listener(heard.append)
    return cache


@pytest.fixture
def cache(entries, jobs, redis_url, prefix, tmp_path, clock) -> ImageCache:
    """On a clock the test sets."""
    return image_cache(entries, jobs, redis_url, prefix, tmp_path, lambda: clock["now"])


@pytest.fixture
def live_cache(entries, jobs, redis_url, prefix, tmp_path) -> ImageCache:
    """On the real clock, for waiting."""
    return image_cache(entries, jobs, redis_url, prefix, tmp_path, time.time)


def test_a_new_query_is_one_pending_entry_and_one_job(cache, jobs):
    first = cache.request(QUERY)
    again = cache.request({"imageType": "png", "queries": [{"bucket": "Left +Y Axis"}]})  # key order differs
    assert first.reuse is Reuse.CREATED and first.entry.status is Status.PENDING
    assert again.reuse is Reuse.JOINED and again.entry.id == first.entry.id
    assert jobs.depth() == 1 and jobs.waiting([first.entry.id]) == {first.entry.id}


def test_the_job_comes_with_its_entry_from_the_index_s_one_step(cache, jobs, monkeypatch):
    """No call of its own enqueues the job (it would be a second round trip, and a process dying between the two
    would leave a pending entry without its job until recovery's pickup check)."""

    def second_step(*args: object) -> None:
        raise AssertionError("the job was enqueued apart from its entry")

    monkeypatch.setattr(jobs, "enqueue", second_step)
    monkeypatch.setattr(jobs, "_enqueue", second_step)
    first = cache.request(QUERY)
    assert cache.request(QUERY).reuse is Reuse.JOINED
    assert first.started == first.entry.id and jobs.waiting([first.entry.id]) == {first.entry.id}
    assert jobs.depth() == 1


def test_the_id_is_the_query_digest_and_the_expiry(cache):
    entry = cache.request(QUERY, Ask(ttl=60)).entry
    parsed = EntryId.parse(entry.id)
    assert parsed is not None and parsed.expires_at == NOW + 60 == entry.expires_at


@pytest.mark.parametrize("entry_id", ["x" * 64, "../" + "a" * 61 + "_1", "A" * 64 + "_1900000000", "a" * 64 + "_9" * 3])
def test_lookup_refuses_what_is_not_an_id_even_if_the_index_holds_it(cache, redis, prefix, entry_id):
    fields = {"id": entry_id, "status": "active", "created_at": NOW, "expires_at": 2e9, "query": "{}"}
    redis.hset(RedisKeys(prefix).entry(entry_id), mapping=fields)  # as if something had written it
    assert cache.lookup(entry_id) is None


def test_lookup_knows_live_entries_only(cache, clock):
    entry = cache.request(QUERY, Ask(ttl=60)).entry
    assert cache.lookup(entry.id) == entry
    assert cache.lookup(str(EntryId("b" * 64, NOW + 60))) is None  # well formed, unknown
    clock["now"] = NOW + 61
    assert cache.lookup(entry.id) is None  # expired by its id, whatever Redis still holds


def test_waiting_returns_the_moment_the_entry_settles(live_cache, entries):
    cache = live_cache
    entry = cache.request(QUERY).entry
    settle = threading.Timer(
        0.3,
        lambda: activate(entries, entry.id, now=time.time(), size=3),
    )
    started = time.monotonic()
    settle.start()
    settling = cache.wait_settled(entry.id, timeout=10)
    assert time.monotonic() - started < 3  # woken by the notifier, not by the 5 s recheck
    settled = settling.entry
    assert settled is not None and settled.status is Status.ACTIVE and settled.size == 3
    assert settling.waited  # pending at the first look
    assert not cache.wait_settled(entry.id, timeout=10).waited  # settled at the first look


def test_waiting_gives_up_pending_after_its_timeout(live_cache):
    cache = live_cache
    entry = cache.request(QUERY).entry
    started = time.monotonic()
    still = cache.wait_settled(entry.id, timeout=0.2).entry
    assert still is not None and still.status is Status.PENDING
    assert 0.2 <= time.monotonic() - started < 2


def test_use_is_recorded_once_an_interval(entries, jobs, redis_url, redis, prefix, tmp_path, clock):
    heard: list[str] = []
    cache = image_cache(entries, jobs, redis_url, prefix, tmp_path, lambda: clock["now"], heard)
    wait_until(lambda: redis.publish(RedisKeys(prefix).done, "probe") and "probe" in heard, 5, "the subscription")
    entry = cache.request(QUERY).entry
    activate(entries, entry.id, now=NOW, size=3)
    wait_until(lambda: entry.id in heard, 5, "the completion's news")  # which makes the cache forget what it knew
    lru = RedisKeys(prefix).lru
    active = cache.lookup(entry.id)
    assert active is not None
    clock["now"] = NOW + 5
    cache.record_use(active)  # stored 5 s ago: recent already, nothing written
    assert redis.zscore(lru, "i:" + entry.id) == NOW
    clock["now"] = NOW + TOUCH_INTERVAL
    cache.record_use(active)
    assert redis.zscore(lru, "i:" + entry.id) == NOW + TOUCH_INTERVAL
    clock["now"] = NOW + TOUCH_INTERVAL + 6
    cache.record_use(active)  # within the interval: not written again
    assert redis.zscore(lru, "i:" + entry.id) == NOW + TOUCH_INTERVAL
    clock["now"] = NOW + 2 * TOUCH_INTERVAL
    cache.record_use(active)
    assert redis.zscore(lru, "i:" + entry.id) == NOW + 2 * TOUCH_INTERVAL


def test_pages_list_what_the_index_holds(cache):
    ids = {cache.request({"n": n}).entry.id for n in range(5)}
    first = cache.page(None, 3)
    rest = cache.page(first.next_cursor, 3)
    assert {e.id for e in first.entries + rest.entries} == ids and rest.next_cursor is None

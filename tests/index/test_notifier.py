"""RedisEntryNotifier on real pub/sub: a settled entry wakes its waiters and every listener, and only them."""

from __future__ import annotations

import threading
import time

import pytest
from redis import Redis

from imagecache.domain.entry_record import EntryRecord, Status
from imagecache.index.entry_index import RedisEntryIndex
from imagecache.index.notifier import RedisEntryNotifier
from imagecache.redis_access.keys import RedisKeys
from testkit.index import activate, new_pending


@pytest.fixture
def channel(prefix) -> str:
    return RedisKeys(prefix).done


def subscribed(redis: Redis, channel: str) -> None:
    deadline = time.monotonic() + 5
    while not redis.pubsub_numsub(channel)[0][1]:
        assert time.monotonic() < deadline, "the notifier never subscribed"
        time.sleep(0.01)


def test_a_waiter_wakes_when_its_entry_settles(redis, redis_url, channel):
    notifier = RedisEntryNotifier(Redis.from_url(redis_url, decode_responses=True), channel)
    with notifier.watching("first") as first:
        assert first.wait(5)  # subscribing wakes every waiter once (what settled meanwhile is unknown)
    subscribed(redis, channel)  # and its one wake has passed: watches from here on hear only their own news
    with notifier.watching("mine") as mine, notifier.watching("other") as other:
        redis.publish(channel, "mine")
        assert mine.wait(5)
        assert not other.is_set()


def test_every_listener_hears_every_settled_id(redis, redis_url, channel):
    notifier = RedisEntryNotifier(Redis.from_url(redis_url, decode_responses=True), channel)
    heard: list[str | None] = []
    both = threading.Event()

    def listen(entry_id: str | None) -> None:
        heard.append(entry_id)
        if len(heard) == 3:
            both.set()

    notifier.add_listener(listen)
    subscribed(redis, channel)
    redis.publish(channel, "a")
    redis.publish(channel, "b")
    assert both.wait(5) and heard == [None, "a", "b"]  # None first: whatever was missed before subscribing


@pytest.mark.parametrize("outcome", ["complete", "fail"])
def test_a_settled_entry_reaches_its_waiters_with_its_fields(redis, redis_url, channel, prefix, outcome):
    entries = RedisEntryIndex(redis, prefix)
    entry_id = new_pending(entries, "a" * 64, now=1e9, expires_at=2e9, query='{"q": "ü/1"}')
    notifier = RedisEntryNotifier(Redis.from_url(redis_url, decode_responses=True), channel)
    with notifier.watching(entry_id) as watch:
        assert watch.wait(5) and watch.settled is None  # the wake-up of subscribing carries nothing
        subscribed(redis, channel)
        watch.clear()
        if outcome == "complete":
            key = EntryRecord.result_prefix(entry_id) + ".k"
            entries.complete(entry_id, now=1e9 + 1, content_type="image/png", size=3, etag="e", blob_key=key)
        else:
            entries.fail(entry_id, now=1e9 + 1, status=502, kind="error", message="no", until=1e9 + 31)
        assert watch.wait(5)
    assert watch.settled == entries.get(entry_id)
    assert watch.settled.status is (Status.ACTIVE if outcome == "complete" else Status.ERROR)
    assert watch.settled.query == '{"q": "ü/1"}'


def test_a_deletion_wakes_its_waiters_with_nothing_to_hand_them(redis, redis_url, channel):
    notifier = RedisEntryNotifier(Redis.from_url(redis_url, decode_responses=True), channel)
    with notifier.watching("gone") as watch:
        watch.wait(5)
        subscribed(redis, channel)
        watch.clear()
        redis.publish(channel, "gone")
        assert watch.wait(5) and watch.settled is None


def test_a_group_watch_hears_each_of_its_entries_in_order_and_nothing_else(redis, redis_url, channel, entries):
    notifier = RedisEntryNotifier(Redis.from_url(redis_url, decode_responses=True), channel)
    first, second = (new_pending(entries, f"{n:064x}", now=time.time(), expires_at=time.time() + 60) for n in (1, 2))
    with notifier.watching_all([first, second]) as group:
        subscribed(redis, channel)
        while group.next(0.2) is not None:  # subscribing wakes every waiter once: drain that
            pass
        redis.publish(channel, "elsewhere")
        activate(entries, second, now=time.time(), size=4)
        activate(entries, first, now=time.time(), size=5)
        (id_a, entry_a), (id_b, entry_b) = group.next(5), group.next(5)
        assert (id_a, entry_a.size, id_b, entry_b.size) == (second, 4, first, 5)  # announced with their fields
        assert group.next(0.1) is None
    assert notifier.watched() == 0  # the watches left with the group

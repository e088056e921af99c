"""RedisEntryNotifier on real pub/sub: a settled entry wakes its waiters and every listener, and only them."""

from __future__ import annotations

import threading
import time

import pytest
from redis import Redis

from imagecache.index.keys import RedisKeys
from imagecache.index.notifier import RedisEntryNotifier


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
    with notifier.watching("mine") as mine, notifier.watching("other") as other:
        assert other.wait(5)  # subscribing wakes every waiter once (what settled meanwhile is unknown)
        subscribed(redis, channel)
        mine.clear()
        other.clear()
        redis.publish(channel, "mine")
        assert mine.wait(5)
        assert not other.is_set()


def test_every_listener_hears_every_settled_id(redis, redis_url, channel):
    notifier = RedisEntryNotifier(Redis.from_url(redis_url, decode_responses=True), channel)
    heard: list[str] = []
    both = threading.Event()

    def listen(entry_id: str) -> None:
        heard.append(entry_id)
        if len(heard) == 2:
            both.set()

    notifier.add_listener(listen)
    subscribed(redis, channel)
    redis.publish(channel, "a")
    redis.publish(channel, "b")
    assert both.wait(5) and heard == ["a", "b"]

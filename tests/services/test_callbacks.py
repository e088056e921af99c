"""CallbackDispatch on a real Redis: a callback kept with a pending entry is handed on once it settles, by its
worker or, left behind, by maintenance; never twice, never for a deleted entry."""

from __future__ import annotations

import json

import pytest

from imagecache.domain.callback_targets import CallbackTargets
from imagecache.domain.errors import InvalidCallback
from imagecache.queueing.callbacks import RedisCallbackRegistry
from imagecache.services.callbacks import LEFT_BEHIND, CallbackDispatch
from testkit.index import activate, request

NOW = 1_800_000_000.0
HOOK = "https://hooks.example.com/done?token=t"


class RecordedCallbacks:
    """The callback-queue port: what would be delivered, recorded."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict]] = []

    def enqueue(self, url: str, body: bytes) -> None:
        self.sent.append((url, json.loads(body)))


@pytest.fixture
def queue():
    return RecordedCallbacks()


def dispatch(entries, queue, redis, now=NOW):
    registry = RedisCallbackRegistry(redis, entries.keys.prefix)
    targets = CallbackTargets.parse("hooks.example.com", "")
    return CallbackDispatch(entries, registry, queue, targets, clock=lambda: now)


def pending_with_callback(entries, n=1, url=HOOK) -> str:
    return request(entries, f"{n:064x}", now=NOW, ttl=600, callback_url=url).entry.id


def test_the_worker_hands_on_a_settled_entrys_callbacks_once(entries, queue, redis):
    entry_id = pending_with_callback(entries)
    pending_with_callback(entries, url=HOOK + "2")  # a second request joining it, with its own URL
    activate(entries, entry_id, now=NOW + 1, size=7)
    assert dispatch(entries, queue, redis).dispatch(entry_id) == 2
    assert sorted(url for url, _ in queue.sent) == [HOOK, HOOK + "2"]
    assert queue.sent[0][1] == {
        "id": entry_id,
        "status": "active",
        "size": 7,
        "type": "image/png",
        "expires_at": NOW + 600,
    }
    assert dispatch(entries, queue, redis).dispatch(entry_id) == 0  # handed on: forgotten


def test_callbacks_a_worker_left_behind_are_handed_on_by_maintenance_after_a_while(entries, queue, redis):
    entry_id = pending_with_callback(entries)
    entries.fail(entry_id, now=NOW, status=502, kind="error", message="down", until=NOW + 30)
    assert dispatch(entries, queue, redis, now=NOW + 1).dispatch_left_behind() == 0  # its worker may still do it
    assert dispatch(entries, queue, redis, now=NOW + LEFT_BEHIND + 1).dispatch_left_behind() == 1
    assert queue.sent[0][1]["error"] == {"status": 502, "msg": "down"}


def test_a_deleted_entry_takes_its_callbacks_with_it(entries, queue, redis, prefix):
    entry_id = pending_with_callback(entries)
    entries.delete(entry_id, NOW)
    assert not redis.exists(prefix + "callbacks:" + entry_id)
    assert dispatch(entries, queue, redis, now=NOW + 100).dispatch_left_behind() == 0 and not queue.sent


def test_with_no_allowed_hosts_callbacks_are_off(entries, queue, redis):
    with pytest.raises(InvalidCallback, match="callbacks are off"):
        CallbackDispatch(entries, RedisCallbackRegistry(redis, "x:"), queue, CallbackTargets()).check(HOOK)

"""TagPurge on a real Redis: by tag, in batches, hard (entries and their blobs go) or soft (entries go stale)."""

from __future__ import annotations

import pytest

from imagecache.domain.entry_record import EntryRecord, Reuse
from imagecache.index.counters import RedisCounters
from imagecache.services.tag_purge import TagPurge
from testkit.index import activate, request

NOW = 1_800_000_000.0


@pytest.fixture
def purge(entries, redis, prefix):
    return TagPurge(entries, RedisCounters(redis, prefix), clock=lambda: NOW + 10)


def tagged(entries, n: int, *tags: str, **options) -> str:
    """An active entry for query n carrying the tags; its id."""
    outcome = request(entries, f"{n:064x}", now=NOW, ttl=1000, tags=tags, **options)
    activate(entries, outcome.entry.id, now=NOW, size=3)
    return outcome.entry.id


def test_a_hard_purge_removes_every_entry_with_any_of_the_tags_and_queues_their_blobs(entries, purge, redis, prefix):
    device, dashboard, both, other = (
        tagged(entries, 1, "device:42"),
        tagged(entries, 2, "dashboard:7"),
        tagged(entries, 3, "device:42", "dashboard:7"),
        tagged(entries, 4, "device:43"),
    )
    assert purge.purge(["device:42", "dashboard:7"], soft=False) == 3  # `both` counted once
    assert [entries.get(i) is None for i in (device, dashboard, both, other)] == [True, True, True, False]
    garbage = set(redis.zrange(prefix + "gc", 0, -1))
    assert {EntryRecord.result_prefix(i) + ".1" for i in (device, dashboard, both)} <= garbage
    assert not redis.exists(prefix + "tag:device:42", prefix + "tag:dashboard:7")
    assert redis.smembers(prefix + "tag:device:43") == {other}
    assert redis.hget(prefix + "stats", "purged") == "3" and entries.counts()["active_count"] == 1


def test_a_soft_purge_leaves_entries_in_place_but_only_requests_allowing_stale_get_them(entries, purge):
    entry_id = tagged(entries, 1, "device:42")
    assert purge.purge(["device:42"], soft=True) == 1
    assert entries.get(entry_id) is not None  # its id still serves what was handed out
    later = NOW + 20
    allowing = request(entries, f"{1:064x}", now=later, ttl=1000, stale_while_revalidate=60)
    assert (allowing.entry.id, allowing.reuse) == (entry_id, Reuse.STALE) and allowing.started
    plain = request(entries, f"{1:064x}", now=later, ttl=1000)
    assert plain.reuse is Reuse.JOINED and plain.entry.id == allowing.started  # waits for the new result


def test_a_purge_of_more_entries_than_a_batch_gets_them_all(entries, purge, redis, prefix):
    ids = {tagged(entries, n, "bulk") for n in range(1, 451)}
    assert purge.purge(["bulk"], soft=False) == 450
    assert all(entries.get(i) is None for i in ids) and not redis.exists(prefix + "tag:bulk")


def test_tags_added_by_later_requests_count_and_a_deleted_entry_leaves_its_tag_sets(entries, purge, redis, prefix):
    entry_id = tagged(entries, 1, "a")
    assert request(entries, f"{1:064x}", now=NOW + 1, ttl=1000, tags=("b",)).reuse is Reuse.HIT
    assert entries.get(entry_id).tags == ("a", "b")
    entries.delete(entry_id, NOW + 2)  # as expiry or eviction does
    assert not redis.exists(prefix + "tag:a", prefix + "tag:b")
    assert purge.purge(["a", "b"], soft=False) == 0


def test_a_soft_purge_of_a_pending_entry_makes_its_result_stale_when_it_lands(entries, purge):
    pending = request(entries, f"{9:064x}", now=NOW, ttl=1000, tags=("late",)).entry.id
    assert purge.purge(["late"], soft=True) == 1  # its fetch began before the purge
    activate(entries, pending, now=NOW + 20, size=3)
    assert request(entries, f"{9:064x}", now=NOW + 21, ttl=1000).reuse is Reuse.CREATED

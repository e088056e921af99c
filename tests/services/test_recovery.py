"""Recovery on a real Redis: leases, strays and due checks find lost entries, and only those."""

from __future__ import annotations

import time

import pytest

from imagecache.index.leases import WorkerLease
from imagecache.redis_access.keys import RedisKeys
from imagecache.services.item_sweep import ItemSweep
from imagecache.services.recovery import Recovery
from testkit.index import activate, claim, new_pending, request
from testkit.job_kinds import CHART, served_kinds

NOW = 1_800_000_000.0
TTL = 0.3  # a lease TTL short enough to wait out in a unit test


def recovery_at(entries, jobs, now: float, redis) -> Recovery:
    kinds = served_kinds(redis, entries.keys.prefix)
    return Recovery(entries, jobs, kinds, ItemSweep(lambda: None), lease_ttl=TTL, pickup_grace=30, clock=lambda: now)


@pytest.fixture
def recovery(entries, jobs, redis):
    return recovery_at(entries, jobs, NOW, redis)


def pending(entries, n: int) -> str:
    return new_pending(entries, f"{n:064x}", now=NOW, expires_at=NOW + 1000)


def test_a_dead_workers_entry_is_lost_only_after_its_lease_was_seen_missing_a_whole_ttl(entries, recovery, jobs, redis):
    alive, dead = WorkerLease(redis, entries.keys.lease_prefix, 10), WorkerLease(redis, entries.keys.lease_prefix, 10)
    alive.renew()
    kept, lost = pending(entries, 1), pending(entries, 2)
    assert claim(entries, kept, alive.id, NOW).attempts == 1 and claim(entries, lost, dead.id, NOW).attempts == 1

    assert recovery.recover_abandoned() == 0  # first seen missing now: not yet lost
    for _ in range(2):
        time.sleep(TTL / 3)  # checkers look far more often than once a TTL
        assert recovery.recover_abandoned() == 0
    time.sleep(TTL / 2)
    assert recovery.recover_abandoned() == 1
    assert jobs.waiting([kept, lost]) == {lost}
    assert recovery.recover_abandoned() == 0  # handed out once
    alive.end()


def test_a_lease_that_comes_back_in_time_loses_nothing(entries, recovery, redis):
    """An outage: the checker saw the lease missing, then its worker renewed it before a whole TTL passed."""
    lease = WorkerLease(redis, entries.keys.lease_prefix, 10)
    entry_id = pending(entries, 3)
    claim(entries, entry_id, lease.id, NOW)
    assert recovery.recover_abandoned() == 0
    lease.renew()
    time.sleep(TTL * 1.5)
    assert recovery.recover_abandoned() == 0
    lease.end()


def test_an_outage_between_two_looks_starts_the_count_again(entries, recovery, redis):
    """Seen missing once, then nobody could look for longer than a TTL (Redis was away): not lost on return."""
    lease = WorkerLease(redis, entries.keys.lease_prefix, 10)
    entry_id = pending(entries, 10)
    claim(entries, entry_id, lease.id, NOW)
    assert recovery.recover_abandoned() == 0
    time.sleep(TTL * 1.5)  # the outage: no look at all
    assert recovery.recover_abandoned() == 0  # the count starts again here; the owner renews meanwhile
    lease.renew()
    time.sleep(TTL / 2)
    assert recovery.recover_abandoned() == 0
    lease.end()


def test_a_live_worker_keeps_its_entry_and_a_dead_ones_is_taken_over(entries, redis):
    holder = WorkerLease(redis, entries.keys.lease_prefix, 10)
    holder.renew()
    entry_id = pending(entries, 4)
    assert claim(entries, entry_id, holder.id, NOW).attempts == 1
    assert claim(entries, entry_id, "another", NOW) is None  # no second fetch while the holder lives
    holder.end()
    assert claim(entries, entry_id, "another", NOW).attempts == 2


def test_entries_a_process_dropped_are_released(entries, recovery, jobs, redis):
    lease = WorkerLease(redis, entries.keys.lease_prefix, 10)
    busy, dropped = pending(entries, 5), pending(entries, 6)
    claim(entries, busy, lease.id, NOW)
    claim(entries, dropped, lease.id, NOW)
    assert recovery.release_strays(lease.id, {busy}) == 1
    assert jobs.waiting([busy, dropped]) == {dropped}


def test_only_due_entries_are_looked_at_and_settled_ones_leave(entries, jobs, redis, prefix):
    early, late = recovery_at(entries, jobs, NOW + 1, redis), recovery_at(entries, jobs, NOW + 31, redis)
    queued, unqueued, done = pending(entries, 7), pending(entries, 8), pending(entries, 9)
    jobs.enqueue(queued, CHART)
    activate(entries, done, now=NOW, size=0)
    assert early.recover_unqueued() == 0
    assert late.recover_unqueued() == 1
    assert jobs.waiting([unqueued]) == {unqueued}
    assert redis.zrange(prefix + "due", 0, -1) == sorted([queued, unqueued])  # both checked again later


def test_a_job_handed_out_again_takes_its_tenant_s_turn(entries, jobs, redis, prefix):
    """The fair line orders jobs by tenant (enqueue.lua): a lost job comes back as its tenant's, not nobody's."""
    entry_id = request(entries, f"{10:064x}", now=NOW, ttl=1000, tenant="alice").entry.id
    assert recovery_at(entries, jobs, NOW + 31, redis).recover_unqueued() == 1
    assert jobs.waiting([entry_id]) == {entry_id}
    assert redis.hexists(RedisKeys(prefix).fair_share(CHART.name), "t:alice")

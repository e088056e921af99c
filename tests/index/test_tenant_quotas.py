"""Tenants' quotas, decided in the step that decides a request (entry_request.lua), on a real Redis."""

import pytest

from imagecache.domain.entry_record import Reuse
from imagecache.domain.errors import QuotaExceeded
from imagecache.domain.tenants import NO_QUOTA, Quota
from imagecache.index.entry_index import RedisEntryIndex
from imagecache_client.ids import EntryId
from testkit.index import activate, claim, request
from testkit.job_kinds import CHART

NOW = 1_800_000_000.0


def digest(n: int) -> str:
    return f"{n:064x}"


@pytest.fixture
def entries(redis, prefix):
    return RedisEntryIndex(redis, prefix)


def ask(entries, n, tenant="alice", quota=NO_QUOTA, now=NOW, **asked):
    return request(entries, digest(n), now=now, ttl=600, tenant=tenant, quota=quota, **asked)


def test_fresh_per_minute_lets_a_minute_s_worth_at_once_then_one_per_share_of_the_minute(entries):
    quota = Quota(fresh_per_minute=3)
    for n in range(3):
        assert ask(entries, n, quota=quota).reuse is Reuse.CREATED
    with pytest.raises(QuotaExceeded) as refused:
        ask(entries, 3, quota=quota)
    assert (refused.value.quota, refused.value.retry_after) == ("fresh_per_minute", 20)
    assert "'alice' is at its fresh_per_minute quota (3)" in str(refused.value)
    with pytest.raises(QuotaExceeded):
        ask(entries, 3, quota=quota, now=NOW + 19.5)
    assert ask(entries, 3, quota=quota, now=NOW + 20).reuse is Reuse.CREATED


def test_a_quota_of_nought_refuses_every_production(entries):
    for quota, name in ((Quota(fresh_per_minute=0), "fresh_per_minute"), (Quota(pending=0), "pending")):
        with pytest.raises(QuotaExceeded) as refused:
            ask(entries, 1, quota=quota)
        assert refused.value.quota == name and 1 <= refused.value.retry_after <= 60


def test_a_refusal_changes_nothing_but_its_counts(entries, redis, prefix):
    quota = Quota(pending=1)
    first = ask(entries, 1, quota=quota).entry.id
    before = {
        key: redis.dump(key) for key in redis.scan_iter(match=prefix + "*") if not key.endswith(("stats", "alice"))
    }
    with pytest.raises(QuotaExceeded) as refused:
        ask(entries, 2, quota=quota)
    assert refused.value.quota == "pending"
    after = {
        key: redis.dump(key) for key in redis.scan_iter(match=prefix + "*") if not key.endswith(("stats", "alice"))
    }
    assert after == before
    assert redis.hget(prefix + "stats", "misses") == "1" and redis.hget(prefix + "stats", "quota_refusals") == "1"
    assert redis.hgetall(prefix + "tenant:alice") | {"tat": ""} == {
        "misses": "1", "pending": "1", "refused_pending": "1", "tat": "",
    }  # fmt: skip
    activate(entries, first, now=NOW + 1, size=10)  # a pending entry settles: room again
    assert ask(entries, 2, quota=quota).reuse is Reuse.CREATED


def test_the_pending_quota_says_to_come_back_in_about_one_run_of_the_kind(entries, redis, prefix):
    redis.hset(prefix + "durations", "chart", "12.3")
    ask(entries, 1, quota=Quota(pending=1))
    with pytest.raises(QuotaExceeded) as refused:
        ask(entries, 2, quota=Quota(pending=1))
    assert refused.value.retry_after == 13


def test_a_tenant_at_its_quota_still_joins_a_fetch_under_way_and_is_served_stored_results(entries, redis, prefix):
    started = ask(entries, 1, tenant="bob").entry.id
    assert ask(entries, 1, quota=Quota(pending=0)).reuse is Reuse.JOINED  # costs the upstream nothing
    activate(entries, started, now=NOW + 1, size=100)
    assert ask(entries, 1, quota=Quota(pending=0), now=NOW + 2).reuse is Reuse.HIT
    alice, bob = (redis.hgetall(f"{prefix}tenant:{name}") for name in ("alice", "bob"))
    assert (alice["dedupes"], alice["hits"], "misses" in alice) == ("1", "1", False)  # each counted, once each
    assert (bob["misses"], bob["bytes"], bob["pending"]) == ("1", "100", "0")  # the bytes are the starter's


def test_a_stale_result_answers_without_its_refresh_while_the_quota_is_full(entries, redis, prefix):
    first = ask(entries, 1).entry.id
    activate(entries, first, now=NOW, size=5)
    ask(entries, 2, quota=Quota(pending=1))  # alice's one pending entry
    stale = ask(entries, 1, quota=Quota(pending=1), now=NOW + 100, max_age=10, stale_while_revalidate=1000)
    assert (stale.reuse, stale.entry.id, stale.started) == (Reuse.STALE, first, "")
    refreshed = ask(entries, 1, quota=Quota(), now=NOW + 100, max_age=10, stale_while_revalidate=1000)
    assert refreshed.reuse is Reuse.STALE and refreshed.started  # with room, the refresh starts


def test_without_keys_everyone_is_one_tenant_whose_quota_holds(entries, redis, prefix):
    ask(entries, 1, tenant="", quota=Quota(pending=1))
    with pytest.raises(QuotaExceeded, match="this service is at its pending quota"):
        ask(entries, 2, tenant="", quota=Quota(pending=1))
    assert redis.hget(prefix + "tenant:", "pending") == "1"


def test_nobody_accounted_leaves_no_trace(entries, redis, prefix):
    entry_id = ask(entries, 1, tenant=None).entry.id
    assert "tenant" not in redis.hgetall(f"{prefix}entry:{entry_id}")
    assert not list(redis.scan_iter(match=prefix + "tenant*"))


def run_of(entries, n, quota, now=NOW):
    """A new entry of alice's whose run has begun (claimed under a worker's lease)."""
    entry_id = ask(entries, n, quota=quota, now=now).entry.id
    claim(entries, entry_id, "lease-1", now)
    return entry_id


@pytest.mark.parametrize("ends", ["completes", "fails"])
def test_a_run_whose_entry_is_deleted_holds_its_tenant_s_slot_until_it_ends(entries, redis, prefix, ends):
    quota = Quota(pending=1)
    running = run_of(entries, 1, quota)
    assert entries.delete(running, NOW + 1)  # expired, or purged: the pending entry is gone, its run goes on
    assert redis.hget(prefix + "tenant:alice", "pending") == "0"
    with pytest.raises(QuotaExceeded) as refused:
        ask(entries, 2, quota=quota, now=NOW + 2)
    assert refused.value.quota == "pending"
    if ends == "completes":
        assert not activate(entries, running, now=NOW + 3, size=10)  # its result has no entry to go to
    else:
        assert not entries.fail(running, now=NOW + 3, status=502, kind="error", message="no", until=NOW + 30)
    assert ask(entries, 2, quota=quota, now=NOW + 4).reuse is Reuse.CREATED
    assert not list(redis.scan_iter(match=prefix + "held:*"))


def test_a_held_slot_lapses_after_the_longest_run_should_its_worker_die(redis, prefix):
    entries = RedisEntryIndex(redis, prefix, longest_run=60)
    quota = Quota(pending=1)
    entries.delete(run_of(entries, 1, quota), NOW)
    with pytest.raises(QuotaExceeded):
        ask(entries, 2, quota=quota, now=NOW + 59)
    assert ask(entries, 2, quota=quota, now=NOW + 61).reuse is Reuse.CREATED


def test_a_pending_entry_deleted_before_its_run_began_frees_its_slot_at_once(entries):
    quota = Quota(pending=1)
    entries.delete(ask(entries, 1, quota=quota).entry.id, NOW + 1)
    assert ask(entries, 2, quota=quota, now=NOW + 2).reuse is Reuse.CREATED


def test_a_quota_of_nought_says_so_rather_than_when_to_come_back(entries):
    with pytest.raises(QuotaExceeded, match="may start no new results: its pending quota is 0"):
        ask(entries, 1, quota=Quota(pending=0))


def test_only_a_request_that_creates_an_entry_enqueues_the_job_it_carries(entries, jobs):
    """Refused, joined or answered by a result, a request's job draft is dropped; the entry it creates (its own, or
    a stale result's refresh) is queued with its job in the same step."""

    def asked(n, now=NOW, **more):
        new_id = str(EntryId(digest(n), now + 600))
        return ask(entries, n, now=now, quota=Quota(pending=1), draft=jobs.draft(new_id, CHART, "alice"), **more)

    created = asked(1)
    assert created.reuse is Reuse.CREATED and jobs.waiting([created.entry.id]) == {created.entry.id}
    assert asked(1).reuse is Reuse.JOINED
    with pytest.raises(QuotaExceeded):
        asked(2)
    assert jobs.depth() == 1
    activate(entries, created.entry.id, now=NOW + 1)
    assert asked(1, now=NOW + 2).reuse is Reuse.HIT
    stale = asked(1, now=NOW + 100, max_age=10, stale_while_revalidate=600)
    assert stale.reuse is Reuse.STALE and stale.started == str(EntryId(digest(1), NOW + 700))
    assert jobs.waiting([stale.started]) == {stale.started} and jobs.depth() == 2

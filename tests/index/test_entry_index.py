import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagecache.domain.entry_record import EntryRecord, Reuse, Status
from imagecache.domain.error_backoff import ErrorBackoff
from imagecache.domain.progress import JobProgress
from imagecache.index.entry_index import RedisEntryIndex
from imagecache.index.garbage import RedisBlobGarbage
from testkit.index import claim, request

DIGEST = "d" * 64
NOW = 1_800_000_000.0


@pytest.fixture
def store(redis, prefix):
    return RedisEntryIndex(redis, prefix)


def ask(store, now=NOW, ttl=300, digest=DIGEST, max_age=None, refresh=False):
    """The (id, reuse) a request gets."""
    outcome = request(store, digest, now=now, ttl=ttl, max_age=max_age, refresh=refresh)
    return outcome.entry.id, outcome.reuse


def activate(store, entry_id, now=NOW + 1, size=10, blob_key=None):
    key = blob_key or EntryRecord.attempt_key(entry_id)
    assert store.complete(entry_id, now=now, content_type="image/png", size=size, etag="e", blob_key=key)


def test_first_request_creates_a_pending_entry(store):
    entry_id, reuse = ask(store)
    assert reuse is Reuse.CREATED
    entry = store.get(entry_id)
    assert entry.status is Status.PENDING and entry.expires_at == NOW + 300
    assert store.counts()["pending_count"] == 1


def test_concurrent_requests_create_exactly_one_entry(store):
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda i: ask(store, now=NOW + i / 1000), range(50)))
    assert len({entry_id for entry_id, _ in results}) == 1
    assert [reuse for _, reuse in results].count(Reuse.CREATED) == 1
    counts = store.counts()
    assert (counts["misses"], counts["dedupes"]) == (1, 49)


def test_active_entry_is_a_hit_until_it_expires(store):
    entry_id, _ = ask(store)
    activate(store, entry_id)
    assert ask(store, now=NOW + 10) == (entry_id, Reuse.HIT)
    later_id, reuse = ask(store, now=NOW + 301)
    assert reuse is Reuse.CREATED and later_id != entry_id


def test_max_age_refuses_an_older_result(store):
    entry_id, _ = ask(store)
    activate(store, entry_id, now=NOW + 1)
    assert ask(store, now=NOW + 20, max_age=30) == (entry_id, Reuse.HIT)
    fresh_id, reuse = ask(store, now=NOW + 40, max_age=30)
    assert reuse is Reuse.CREATED and fresh_id != entry_id


def test_refresh_fetches_anew_but_joins_a_pending_refresh(store):
    entry_id, _ = ask(store)
    activate(store, entry_id)
    fresh_id, reuse = ask(store, now=NOW + 5, refresh=True)
    assert reuse is Reuse.CREATED and fresh_id != entry_id
    assert ask(store, now=NOW + 6, refresh=True) == (fresh_id, Reuse.JOINED)
    assert store.get(entry_id).status is Status.ACTIVE  # the old id still serves


def test_error_entry_is_reused_only_while_fresh(store):
    entry_id, _ = ask(store)
    assert store.fail(entry_id, now=NOW + 1, status=503, kind="Kentik API error", message="down", until=NOW + 31)
    assert ask(store, now=NOW + 30) == (entry_id, Reuse.ERROR)
    retry_id, reuse = ask(store, now=NOW + 32)
    assert reuse is Reuse.CREATED and retry_id != entry_id
    assert store.get(entry_id).error_status == 503  # the old id keeps its answer


def error_until(redis, store, entry_id):
    return float(redis.hget(store.keys.entry(entry_id), "error_until"))


def fail_again(redis, store, now, backoff):
    """The query's next attempt, failed transiently at `now`: the id it got, and how long its error answers."""
    entry_id, reuse = ask(store, now=now)
    assert reuse is Reuse.CREATED
    assert store.fail(
        entry_id, now=now, status=503, kind="e", message="down", until=now + backoff.first, backoff=backoff
    )
    return entry_id, error_until(redis, store, entry_id) - now


@given(first=st.integers(0, 3600), extra=st.integers(0, 10**6), failures=st.integers(1, 80))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_each_consecutive_failure_doubles_the_errors_life_up_to_its_most(redis, first, extra, failures):
    store, backoff = RedisEntryIndex(redis, f"b{uuid.uuid4().hex[:8]}:"), ErrorBackoff(first, first + extra)
    try:
        now, lives = NOW, []
        for _ in range(failures):
            _, life = fail_again(redis, store, now, backoff)
            lives.append(life)
            now += life + 1  # asked again once the error has lapsed
        assert lives == pytest.approx([backoff.seconds(n) for n in range(1, failures + 1)], abs=1e-5)
        assert all(life <= backoff.most for life in lives)
    finally:
        keys = list(redis.scan_iter(match=store.keys.prefix + "*"))
        redis.delete(*keys)


def test_a_success_starts_the_backoff_over_and_a_definitive_refusal_leaves_it(store, redis):
    backoff = ErrorBackoff(10, 1000)
    assert [fail_again(redis, store, NOW + n * 100, backoff)[1] for n in range(3)] == [10, 20, 40]
    entry_id, _ = ask(store, now=NOW + 300)
    store.fail(entry_id, now=NOW + 300, status=400, kind="e", message="refused", until=NOW + 600)  # no backoff
    assert error_until(redis, store, entry_id) == NOW + 600
    assert fail_again(redis, store, NOW + 700, backoff)[1] == 80  # the refusal neither counted nor reset
    entry_id, _ = ask(store, now=NOW + 800)
    activate(store, entry_id, now=NOW + 801)
    assert fail_again(redis, store, NOW + 1200, backoff)[1] == 10


def test_a_querys_failures_lapse_when_it_is_not_asked_for(store, redis):
    backoff = ErrorBackoff(10, 50)
    fail_again(redis, store, NOW, backoff)
    assert 0 < redis.ttl(store.keys.failures_of(DIGEST + "_1")) <= 10 + 50 + 1


def test_settling_happens_once(store):
    entry_id, _ = ask(store)
    activate(store, entry_id)
    assert not store.fail(entry_id, now=NOW, status=500, kind="x", message="late", until=NOW)
    assert not store.complete(
        entry_id, now=NOW, content_type="image/png", size=1, etag="x", blob_key=EntryRecord.attempt_key(entry_id)
    )
    assert store.counts()["bytes"] == 10


def test_a_completion_retried_after_a_lost_reply_is_recognised(store):
    entry_id, _ = ask(store)
    key = EntryRecord.attempt_key(entry_id)
    for _ in range(2):  # the second call is the same write again: it went through the first time
        assert store.complete(entry_id, now=NOW, content_type="image/png", size=3, etag="e", blob_key=key)
    assert store.counts()["bytes"] == 3 and store.get(entry_id).blob_key == key


def test_a_result_key_of_another_entry_is_refused(store):
    entry_id, _ = ask(store)
    with pytest.raises(ValueError, match="not a result key"):
        store.complete(entry_id, now=NOW, content_type="image/png", size=3, etag="e", blob_key="images/k.1")
    assert store.get(entry_id).status is Status.PENDING


def test_delete_removes_every_trace_and_queues_the_blob(store, redis, prefix):
    entry_id, _ = ask(store)
    key = EntryRecord.result_prefix(entry_id) + ".x"
    activate(store, entry_id, size=123, blob_key=key)
    assert store.delete(entry_id, NOW)
    assert store.get(entry_id) is None
    counts = store.counts()
    assert counts["active_count"] == 0 and counts["bytes"] == 0
    assert RedisBlobGarbage(redis, prefix).due(NOW) == [key]
    leftovers = {key for key in redis.scan_iter(match=prefix + "*")}
    assert leftovers == {prefix + "stats", prefix + "gc"}


def test_attempts_count_only_while_pending(store):
    entry_id, _ = ask(store)
    assert claim(store, entry_id, "lease-a", NOW).attempts == 1
    claimed = claim(store, entry_id, "lease-a", NOW)
    assert (claimed.id, claimed.status, claimed.attempts) == (entry_id, Status.PENDING, 2)
    activate(store, entry_id)
    assert claim(store, entry_id, "lease-a", NOW) is None
    assert claim(store, "e" * 64 + "_1", "lease-a", NOW) is None
    assert store.get("e" * 64 + "_1") is None


def test_an_attempts_result_key_is_garbage_from_its_claim_until_indexed(store, redis, prefix):
    garbage = RedisBlobGarbage(redis, prefix)
    entry_id, _ = ask(store)
    first, second = (EntryRecord.attempt_key(entry_id) for _ in range(2))
    store.claim(entry_id, "lease-a", NOW, first, NOW + 90)
    assert garbage.due(NOW + 89) == [] and garbage.due(NOW + 90) == [first]
    activate(store, entry_id, blob_key=first)
    assert garbage.due(NOW + 90) == []
    assert store.claim(entry_id, "lease-a", NOW, second, NOW + 90) is None
    assert garbage.due(NOW + 90) == []  # a refused claim marks nothing


def test_settling_adds_what_producing_cost_once(store, redis):
    done, _ = ask(store)
    failed, _ = ask(store, digest="f" * 64)
    costs = {"upstream_calls": 2, "upstream_seconds_sum": 0.25}
    for _ in range(2):  # the second is a retry after a lost reply: counted once
        key = EntryRecord.result_prefix(done) + ".d"
        store.complete(done, now=NOW, content_type="image/png", size=3, etag="e", blob_key=key, counts=costs)
        store.fail(failed, now=NOW, status=502, kind="error", message="m", until=NOW + 30, counts=costs)
    counts = store.counts()
    assert (counts["upstream_calls"], counts["upstream_seconds_sum"]) == (4, 0)  # counts() gives whole numbers
    stats = redis.hgetall(store.keys.stats)
    assert float(stats["upstream_seconds_sum"]) == 0.5


def test_pages_walk_every_entry_once(store):
    ids = {ask(store, digest=f"{n:064x}")[0] for n in range(25)}
    seen, cursor = [], None
    while True:
        page = store.page(cursor, 10)
        seen += [entry.id for entry in page.entries]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)


def test_pages_go_by_expiry_and_skip_none_when_their_cursor_goes(store):
    """A cursor deleted between two pages: the next page starts with the entries expiring with it."""
    ids = [ask(store, digest=f"{n:064x}", ttl=100 + n // 2)[0] for n in range(12)]  # ties of two
    first = store.page(None, 5)
    by_expiry = sorted(ids, key=lambda i: (i.split("_")[1], i), reverse=True)  # the last to expire first
    assert [entry.id for entry in first.entries] == by_expiry[:5]
    assert store.delete(first.next_cursor, NOW)
    rest = store.page(first.next_cursor, 100)
    assert {entry.id for entry in first.entries + rest.entries} == set(ids)  # the cursor was on the first page
    assert len(rest.entries) <= 8 and rest.next_cursor is None  # at most its tie repeated


def test_expired_ids_are_found_by_time(store):
    short, _ = ask(store, digest="1" * 64, ttl=10)
    ask(store, digest="2" * 64, ttl=1000)
    assert store.expired_ids(NOW + 11) == [short]


def test_a_kinds_recent_duration_weighs_recent_runs_most(store):
    assert store.recent_duration("kentik") is None
    durations = []
    for n, took in enumerate((4.0, 9.0, 9.0)):
        entry_id, _ = ask(store, now=NOW + 100 * n, digest=f"{n}" * 64)
        claim(store, entry_id, "lease", NOW + 100 * n)
        activate(store, entry_id, now=NOW + 100 * n + took)
        durations.append(store.recent_duration(store.get(entry_id).job))
    assert durations == pytest.approx([4.0, 5.0, 5.8])  # each run weighs a fifth


def test_progress_is_kept_while_pending_only(store, redis):
    entry_id, _ = ask(store)
    assert store.progress(entry_id, JobProgress(0.9, "a lost run's"))
    claim(store, entry_id, "lease", NOW)
    assert store.get(entry_id).progress is None  # a new run starts with nothing reported
    assert store.progress(entry_id, JobProgress(0.25, "a quarter"))
    assert store.get(entry_id).progress == JobProgress(0.25, "a quarter")
    activate(store, entry_id)
    assert store.get(entry_id).progress is None and not redis.hexists(store.keys.entry(entry_id), "progress")
    assert not store.progress(entry_id, JobProgress(0.5, "late"))  # settled: nothing is added to it
    assert store.get(entry_id).progress is None
    assert not store.progress("e" * 64 + "_1", JobProgress(0.5))  # gone: no key is made
    assert not redis.exists(store.keys.entry("e" * 64 + "_1"))

"""Stale-while-revalidate and stale-if-error in the request script (entry_request.lua), on a real Redis and a
clock the test sets: which id answers, how, and which entry a request started."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from imagecache.domain.entry_record import Reuse, Status
from imagecache.domain.errors import TooManyTags
from imagecache.index.entry_index import RedisEntryIndex
from testkit.index import activate, request

DIGEST = "5" * 64
NOW = 1_800_000_000.0
MAX_AGE, WINDOW = 60, 300


@pytest.fixture
def store(redis, prefix):
    return RedisEntryIndex(redis, prefix)


def ask(store, now, *, swr=None, sie=None, max_age=MAX_AGE, ttl=3600):
    """(the id answered, how, the id of the entry this request started or '')."""
    outcome = request(store, DIGEST, now=now, ttl=ttl, max_age=max_age, stale_while_revalidate=swr, stale_if_error=sie)
    return outcome.entry.id, outcome.reuse, outcome.started


def produced(store, now=NOW) -> str:
    """An active result for the query, produced at `now`."""
    entry_id, reuse, started = ask(store, now, max_age=None)
    assert reuse is Reuse.CREATED and started == entry_id
    assert activate(store, entry_id, now=now)
    return entry_id


def test_a_stale_result_answers_at_once_and_starts_one_refresh_whose_result_answers_later(store):
    old = produced(store)
    stale_at = NOW + MAX_AGE + 10
    answered, reuse, refresh = ask(store, stale_at, swr=WINDOW)
    assert (answered, reuse) == (old, Reuse.STALE) and refresh not in ("", old)
    assert store.get(refresh).status is Status.PENDING
    assert ask(store, stale_at + 1, swr=WINDOW) == (old, Reuse.STALE, "")  # the refresh runs: no second one
    assert ask(store, stale_at + 1)[:2] == (refresh, Reuse.JOINED)  # a request that allows no staleness waits
    activate(store, refresh, now=stale_at + 2)
    assert ask(store, stale_at + 3, swr=WINDOW) == (refresh, Reuse.HIT, "")
    assert store.get(old).status is Status.ACTIVE  # the old id keeps serving until its own expiry
    counts = store.counts()
    assert (counts["stale_hits"], counts["refreshes"], counts["misses"]) == (2, 1, 1)


def test_fifty_stale_requests_at_once_start_exactly_one_refresh(store):
    old = produced(store)
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda n: ask(store, NOW + MAX_AGE + 1 + n / 1000, swr=WINDOW), range(50)))
    assert {answered for answered, _, _ in answers} == {old}
    assert len([started for _, _, started in answers if started]) == 1 == store.counts()["refreshes"]


def test_past_the_window_a_stale_result_is_not_served_and_the_request_waits_for_a_new_one(store):
    old = produced(store)
    answered, reuse, started = ask(store, NOW + MAX_AGE + WINDOW + 1, swr=WINDOW)
    assert reuse is Reuse.CREATED and answered == started != old


def test_without_max_age_nothing_is_stale_so_the_fresh_result_is_a_hit(store):
    old = produced(store)
    assert ask(store, NOW + 3000, swr=WINDOW, max_age=None) == (old, Reuse.HIT, "")


def test_a_failed_refresh_keeps_the_last_good_result_for_stale_if_error_and_its_error_on_its_own_id(store):
    old = produced(store)
    _, _, refresh = ask(store, NOW + MAX_AGE + 1, swr=WINDOW)
    store.fail(refresh, now=NOW + MAX_AGE + 2, status=503, kind="error", message="down", until=NOW + 10_000)
    later = NOW + MAX_AGE + 100
    assert ask(store, later, sie=WINDOW) == (old, Reuse.STALE, "")
    assert ask(store, later)[:2] == (refresh, Reuse.ERROR)  # no stale_if_error: the error, as before
    assert ask(store, NOW + MAX_AGE + WINDOW + 1, sie=WINDOW)[:2] == (refresh, Reuse.ERROR)  # past the window
    assert store.get(refresh).status is Status.ERROR


def test_an_expired_last_good_result_never_answers(store):
    entry_id, _, _ = ask(store, NOW, max_age=None, ttl=100)
    activate(store, entry_id, now=NOW)
    _, _, refresh = ask(store, NOW + MAX_AGE + 1, swr=WINDOW)
    assert ask(store, NOW + 101, swr=10_000)[:2] == (refresh, Reuse.JOINED)


def test_deleting_the_last_good_result_forgets_it(store, redis, prefix):
    old = produced(store)
    _, _, refresh = ask(store, NOW + MAX_AGE + 1, swr=WINDOW)
    store.delete(old, NOW + MAX_AGE + 2)
    assert not redis.exists(prefix + "last:" + DIGEST)
    assert ask(store, NOW + MAX_AGE + 3, swr=WINDOW)[:2] == (refresh, Reuse.JOINED)


def test_a_refresh_keeps_the_results_tags_and_gets_those_asked_for_meanwhile(store, redis, prefix):
    old = request(store, DIGEST, now=NOW, ttl=3600, tags=("team",)).entry.id
    activate(store, old, now=NOW)
    refresh = ask(store, NOW + MAX_AGE + 1, swr=WINDOW)[2]
    during = request(
        store, DIGEST, now=NOW + MAX_AGE + 2, ttl=3600, max_age=MAX_AGE, stale_while_revalidate=WINDOW, tags=("team2",)
    )
    assert during.entry.id == old
    assert set(store.get(refresh).tags) == {"team", "team2"}
    assert refresh in redis.smembers(prefix + "tag:team") and refresh in redis.smembers(prefix + "tag:team2")


def test_tags_past_an_entrys_cap_are_refused_whole_and_every_accepted_tag_is_found_by_its_set(store, redis, prefix):
    entry_id = produced(store)
    for n in range(4):
        request(store, DIGEST, now=NOW + 1, ttl=3600, tags=tuple(f"t{n}-{i}" for i in range(16)))
    before = {key: redis.dump(key) for key in redis.scan_iter(match=prefix + "*")}
    with pytest.raises(TooManyTags, match="at most 64 tags; with these it would carry 65"):
        request(store, DIGEST, now=NOW + 1, ttl=3600, tags=("device:42", "t0-0"))
    assert {key: redis.dump(key) for key in redis.scan_iter(match=prefix + "*")} == before  # nothing changed
    assert request(store, DIGEST, now=NOW + 1, ttl=3600, tags=("t1-1",)).entry.id == entry_id  # carried already
    tags = store.get(entry_id).tags
    assert len(tags) == 64 and all(entry_id in redis.smembers(f"{prefix}tag:{tag}") for tag in tags)


def test_a_stale_answer_never_crosses_job_kinds_when_the_default_kind_changes(store):
    """The default kind's digest is the query's alone, so chart's and kentik's entries of a query share keys: in a
    rolling deploy, chart hosts remember their last good result while kentik hosts ask for the query."""
    charted = produced(store)
    later = NOW + MAX_AGE + 10
    refreshing = ask(store, later, swr=WINDOW)  # a chart host: the stale result answers, a refresh starts
    assert refreshing[:2] == (charted, Reuse.STALE)
    kentik = dict(now=later + 1, ttl=3600, job="kentik", max_age=MAX_AGE)
    switched = request(store, DIGEST, **kentik, stale_while_revalidate=WINDOW)
    assert switched.reuse is Reuse.CREATED and switched.entry.job == "kentik"  # not chart's result, stale or not
    again = request(store, DIGEST, **kentik, stale_while_revalidate=WINDOW)
    assert (again.entry.id, again.reuse) == (switched.entry.id, Reuse.JOINED)  # chart's last good never answers
    assert store.fail(switched.entry.id, now=later + 2, status=500, kind="e", message="m", until=later + 60)
    failed = request(store, DIGEST, **kentik, stale_if_error=WINDOW)
    assert (failed.entry.id, failed.reuse) == (switched.entry.id, Reuse.ERROR)  # nor when kentik's fetch failed


def test_an_entry_of_another_job_kind_under_the_same_key_is_never_reused(store):
    other = request(store, DIGEST, now=NOW, ttl=100, job="mandelbrot").entry.id
    mine = request(store, DIGEST, now=NOW + 1, ttl=3600)
    assert mine.reuse is Reuse.CREATED and mine.entry.id != other and mine.entry.job == "chart"

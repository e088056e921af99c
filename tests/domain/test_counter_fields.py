"""What one fetch adds to the shared counters, and the cumulative histogram /metrics makes of them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from imagecache.domain.counter_fields import UPSTREAM_BUCKETS, bucket_field, cumulative_buckets, fetch_increments


def test_a_fetch_counts_its_attempts_and_lands_in_one_bucket():
    added = fetch_increments(calls=3, failures=2, seconds=0.3)
    assert added["upstream_calls"] == 3 and added["upstream_retries"] == 2 and added["upstream_failures"] == 2
    assert added["upstream_seconds_count"] == 1 and added["upstream_seconds_sum"] == 0.3
    assert [name for name in added if name.startswith("upstream_seconds_in_")] == [bucket_field(0.5)]


def test_a_first_time_success_writes_no_zero_counters():
    assert set(fetch_increments(calls=1, failures=0, seconds=0.01)) == {
        "upstream_calls",
        bucket_field(0.1),
        "upstream_seconds_count",
        "upstream_seconds_sum",
    }


def test_a_fetch_slower_than_every_bound_is_in_no_bound_but_in_the_total():
    added = fetch_increments(calls=1, failures=0, seconds=1000)
    assert bucket_field(None) in added and added["upstream_seconds_sum"] == 1000.0
    assert all(count == 0 for _, count in cumulative_buckets(added))


@given(st.lists(st.floats(min_value=0, max_value=500, allow_nan=False), max_size=50))
def test_the_cumulative_buckets_count_every_fetch_at_most_that_slow(latencies):
    counters: dict[str, float] = {}
    for seconds in latencies:
        for name, amount in fetch_increments(calls=1, failures=0, seconds=seconds).items():
            counters[name] = counters.get(name, 0) + amount
    assert cumulative_buckets(counters) == [
        (bound, sum(1 for seconds in latencies if seconds <= bound)) for bound in UPSTREAM_BUCKETS
    ]

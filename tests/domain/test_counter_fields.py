"""What one fetch adds to the shared counters: calls, retries, failures and one histogram bucket per bound."""

from __future__ import annotations

from imagecache.domain.counter_fields import UPSTREAM_BUCKETS, bucket_field, fetch_increments


def test_a_fetch_counts_its_attempts_and_lands_in_every_bucket_at_or_above_its_time():
    added = fetch_increments(calls=3, failures=2, seconds=0.3)
    assert added["upstream_calls"] == 3 and added["upstream_retries"] == 2 and added["upstream_failures"] == 2
    assert added["upstream_seconds_count"] == 1 and added["upstream_seconds_sum"] == 0.3
    assert [bound for bound in UPSTREAM_BUCKETS if bucket_field(bound) in added] == [
        bound for bound in UPSTREAM_BUCKETS if bound >= 0.3
    ]


def test_a_fetch_slower_than_every_bound_is_counted_only_in_the_total():
    added = fetch_increments(calls=1, failures=0, seconds=1000.0)
    assert not any(bucket_field(bound) in added for bound in UPSTREAM_BUCKETS)
    assert added["upstream_seconds_count"] == 1

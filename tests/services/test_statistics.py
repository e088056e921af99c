"""CacheStatistics: what /info and /metrics report, read from the index, the counters and the queue."""

from __future__ import annotations

from imagecache.domain.counter_fields import fetch_increments
from imagecache.index.counters import RedisCounters
from imagecache.index.recent_figures import SAMPLES, RedisRecentFigures
from imagecache.services.statistics import CacheStatistics
from testkit.index import activate, new_pending
from testkit.job_kinds import CHART

NOW = 1_800_000_000.0


def test_the_summary_counts_entries_bytes_and_the_queue(entries, jobs, redis, prefix):
    counters = RedisCounters(redis, prefix)
    statistics = CacheStatistics(entries, counters, jobs, 1000, RedisRecentFigures(redis, prefix))
    done = new_pending(entries, "a" * 64, now=NOW, expires_at=NOW + 60)
    new_pending(entries, "b" * 64, now=NOW, expires_at=NOW + 60)
    activate(entries, done, now=NOW, size=7)
    jobs.enqueue(done, CHART)
    counters.add(fetch_increments(calls=3, failures=2, seconds=0.2))

    summary = statistics.summary()
    assert summary["active_count"] == 1 and summary["pending_count"] == 1 and summary["error_count"] == 0
    assert summary["misses"] == 2 and summary["total_bytes"] == 7 == summary["used_bytes"]
    assert summary["upstream_calls"] == 3 and summary["upstream_failures"] == 2
    assert summary["max_bytes"] == 1000 and summary["queue_depth"] == 1


def test_counters_carry_the_latency_histogram(entries, jobs, redis, prefix):
    counters = RedisCounters(redis, prefix)
    counters.add(fetch_increments(calls=1, failures=0, seconds=0.3))
    figures = CacheStatistics(entries, counters, jobs, 0, RedisRecentFigures(redis, prefix)).counters()
    assert figures["upstream_seconds_in_0.5"] == 1 and "upstream_seconds_in_0.25" not in figures
    assert figures["upstream_seconds_count"] == 1 and abs(figures["upstream_seconds_sum"] - 0.3) < 1e-9
    assert "upstream_retries" not in figures  # a first-time success writes no zero counters


def test_the_last_hour_is_what_changed_between_samples_and_stays_bounded(entries, jobs, redis, prefix):
    counters = RedisCounters(redis, prefix)
    statistics = CacheStatistics(entries, counters, jobs, 0, RedisRecentFigures(redis, prefix))
    statistics.sample(NOW)
    for n in range(3):  # a minute: three fresh results (misses) taking 2 s each, then a hit on each
        new_pending(entries, f"{n:064x}", now=NOW, expires_at=NOW + 600)
        counters.add(fetch_increments(calls=1, failures=0, seconds=2.0))
    redis.hincrby(prefix + "stats", "hits", 3)
    statistics.sample(NOW + 60)
    hour = statistics.last_hour()
    assert hour.times == [NOW + 60] and hour.hit_ratio == [0.5] and hour.fresh_per_minute == [3.0]
    assert hour.production_seconds == [2.0] and hour.queue_depth == [0]
    for minute in range(2, SAMPLES + 10):
        statistics.sample(NOW + 60 * minute)
    assert redis.llen(prefix + "minutes") == SAMPLES and len(statistics.last_hour().times) == SAMPLES - 1

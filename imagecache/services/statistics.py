"""CacheStatistics: the figures /info and /metrics report, for the whole cluster.

Entry counts and stored bytes come from the index, hits and upstream figures
from the shared counters, queue depth and live workers from the queue: every
instance reports the same figures however many processes and hosts run.
"""

from __future__ import annotations

from imagecache.domain.ports import Counters, EntryLookup, JobQueue

_SUMMARY = (
    "active_count",
    "pending_count",
    "error_count",
    "hits",
    "misses",
    "dedupes",
    "error_hits",
    "stale_hits",
    "refreshes",
    "purged",
    "soft_purged",
    "upstream_calls",
    "upstream_failures",
)


class CacheStatistics:
    def __init__(self, entries: EntryLookup, counters: Counters, jobs: JobQueue, max_bytes: int) -> None:
        self._entries = entries
        self._counters = counters
        self._jobs = jobs
        self._max_bytes = max_bytes

    def summary(self) -> dict[str, int]:
        """What /info reports: counts, bytes, hits and misses, the queue."""
        counts = self._entries.counts()
        stats = {name: counts.get(name, 0) for name in _SUMMARY}
        stats["total_bytes"] = counts.get("bytes", 0)
        stats["used_bytes"] = counts.get("bytes", 0) + counts.get("file_bytes", 0)
        stats["max_bytes"] = self._max_bytes
        stats["query_bytes"] = counts.get("query_bytes", 0)
        stats["queue_depth"] = self._jobs.depth()
        stats["live_workers"] = self._jobs.workers()
        return stats

    def counters(self) -> dict[str, float]:
        """Every shared counter as stored (what /metrics exports beyond the summary)."""
        return self._counters.all()

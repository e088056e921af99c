"""CacheStatistics: the figures /info and /metrics report, for the whole cluster.

Entry counts and stored bytes come from the index, hits and upstream figures
from the shared counters, queue depth and live workers from the queue: every
instance reports the same figures however many processes and hosts run.
"""

from __future__ import annotations

from dataclasses import dataclass

from imagecache.domain.ports import Counters, EntryLookup, JobQueue, RecentFigures
from imagecache.services.tenant_report import TenantReport, TenantRow

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


TOTALS = ("hits", "misses", "dedupes", "fetch_seconds", "fetches")  # only ever grow, while Redis keeps its data


@dataclass(frozen=True)
class LastHour:
    """Per sample (a maintenance pass, a minute by default) over the last hour: when, the share of requests a
    stored result answered, fresh results a minute, the queue, and the mean seconds a fresh result took."""

    times: list[float]
    hit_ratio: list[float | None]
    fresh_per_minute: list[float]
    queue_depth: list[float]
    production_seconds: list[float | None]


class CacheStatistics:
    def __init__(
        self,
        entries: EntryLookup,
        counters: Counters,
        jobs: JobQueue,
        max_bytes: int,
        recent: RecentFigures,
        tenants: TenantReport | None = None,
    ) -> None:
        self._entries = entries
        self._counters = counters
        self._jobs = jobs
        self._max_bytes = max_bytes
        self._recent = recent
        self._tenants = tenants

    def tenants(self) -> list[TenantRow]:
        """Each tenant TENANTS names: its quotas and figures."""
        return self._tenants.rows() if self._tenants else []

    def sample(self, now: float) -> None:
        """Keep this moment's figures for the last hour's plots (maintenance, at each pass)."""
        stats, raw = self.summary(), self._counters.all()
        self._recent.record(
            {
                "t": now,
                **{name: stats[name] for name in ("hits", "misses", "dedupes", "queue_depth")},
                "fetch_seconds": raw.get("upstream_seconds_sum", 0),
                "fetches": raw.get("upstream_seconds_count", 0),
            }
        )

    def last_hour(self) -> LastHour:
        """The figures between each two samples kept (counters are totals, so each point is a difference)."""
        samples = self._recent.recent()
        hour = LastHour([], [], [], [], [])
        for before, after in zip(samples, samples[1:]):
            change = {name: after[name] - before[name] for name in after}
            if change["t"] <= 0 or any(change[total] < 0 for total in TOTALS):
                continue  # samples out of order, or totals that went back (Redis lost its data): no figure
            asked = change["hits"] + change["misses"] + change["dedupes"]
            hour.times.append(after["t"])
            hour.hit_ratio.append(change["hits"] / asked if asked > 0 else None)
            hour.fresh_per_minute.append(60 * change["misses"] / max(change["t"], 1e-9))
            hour.queue_depth.append(after["queue_depth"])
            hour.production_seconds.append(change["fetch_seconds"] / change["fetches"] if change["fetches"] else None)
        return hour

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

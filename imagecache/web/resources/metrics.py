"""/metrics in Prometheus format.

Two sources, so the figures are right however many processes and hosts run:
- per-request figures (requests and latency by route, method and status) are
  kept by prometheus-client in its multiprocess mode: every gunicorn worker of
  an instance writes to PROMETHEUS_MULTIPROC_DIR and any of them reports all;
- cache and upstream figures are read at scrape time from Redis, where every
  web and worker process on every host already counts them.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Iterator

import falcon
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector

from imagecache.domain.counter_fields import (
    MAINTENANCE_ERRORS,
    REPLICA_WAIT_TIMEOUTS,
    REPLICA_WAITS,
    UNREPLICATED_WRITES,
    cumulative_buckets,
)
from imagecache.domain.outages import is_outage
from imagecache.services.statistics import CacheStatistics
from imagecache.services.tenant_report import TenantRow

log = logging.getLogger(__name__)

REQUESTS = Histogram(
    "imagecache_http_request_duration_seconds",
    "HTTP requests by route, method and status, with their latency",
    ["route", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180),
)
# Anyone can send any method; only these get a series of their own, so /metrics cannot be inflated.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_COUNTERS = {
    "hits": "requests answered by an active entry",
    "misses": "requests that created an entry (and a job)",
    "dedupes": "requests that joined a fetch already under way",
    "error_hits": "requests answered by a fresh error entry",
    "stale_hits": "requests answered by a stale result (stale_while_revalidate, stale_if_error, a soft purge)",
    "refreshes": "background refreshes of stale results started",
    "purged": "entries removed by POST /purge",
    "soft_purged": "entries marked stale by POST /purge (soft)",
    "upstream_calls": "calls to the upstream (attempts, retries included)",
    "upstream_retries": "upstream attempts that were retries",
    "upstream_failures": "upstream attempts that failed",
    REPLICA_WAITS: "acknowledged writes that waited for a Redis replica to hold them",
    REPLICA_WAIT_TIMEOUTS: "waits for a Redis replica that timed out (REDIS_WAIT_TIMEOUT_MS)",
    UNREPLICATED_WRITES: "acknowledged writes not waited for while no Redis replica answered",
    MAINTENANCE_ERRORS: "entries, files and blobs that maintenance or eviction could not handle (see the logs)",
    "quota_refusals": "requests refused with 429 by their tenant's quota (TENANTS)",
}


@functools.cache
def _series(route: str, method: str, status: int) -> Histogram:
    """One series of REQUESTS, found once: `labels` checks and locks on every call. Routes, known methods and
    statuses are few, so the cache is too."""
    return REQUESTS.labels(route, method, status)


class HttpMetricsMiddleware:
    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        started = req.context.get("started")
        if started is not None:
            route = req.uri_template or "unmatched"
            method = req.method if req.method in KNOWN_METHODS else "other"
            _series(route, method, resp.status_code).observe(time.perf_counter() - started)


class CacheCollector(Collector):
    def __init__(self, statistics: CacheStatistics) -> None:
        self._statistics = statistics

    def collect(self) -> Iterator[Metric]:
        stats = self._statistics.summary()
        raw = self._statistics.counters()
        for name, help_text in _COUNTERS.items():
            yield CounterMetricFamily(f"imagecache_{name}", help_text, value=stats.get(name, raw.get(name, 0)))
        entries = GaugeMetricFamily("imagecache_entries", "cache entries by status", labels=["status"])
        for status in ("active", "pending", "error"):
            entries.add_metric([status], stats[f"{status}_count"])
        yield entries
        stored = GaugeMetricFamily("imagecache_stored_bytes", "bytes stored, by kind", labels=["kind"])
        stored.add_metric(["images"], stats["total_bytes"])
        stored.add_metric(["files"], raw.get("file_bytes", 0))
        yield stored
        yield GaugeMetricFamily(
            "imagecache_query_bytes", "bytes the index holds for entries' queries", value=stats["query_bytes"]
        )
        yield GaugeMetricFamily("imagecache_queue_depth", "jobs waiting for a worker", value=stats["queue_depth"])
        yield GaugeMetricFamily("imagecache_live_workers", "live worker threads", value=stats["live_workers"])
        buckets = [(str(bound), count) for bound, count in cumulative_buckets(raw)]
        buckets.append(("+Inf", raw.get("upstream_seconds_count", 0)))
        yield HistogramMetricFamily(
            "imagecache_upstream_fetch_seconds",
            "time to fetch one result, retries included",
            buckets=buckets,
            sum_value=raw.get("upstream_seconds_sum", 0),
        )
        yield from _tenant_figures(self._statistics.tenants())


def _tenant_figures(rows: list[TenantRow]) -> Iterator[Metric]:
    """Each tenant TENANTS names, labelled by its name (the configuration bounds how many)."""
    requests = CounterMetricFamily(
        "imagecache_tenant_requests", "a tenant's requests by how each was answered", labels=["tenant", "answer"]
    )
    refused = CounterMetricFamily(
        "imagecache_tenant_refused", "a tenant's requests refused with 429, by quota", labels=["tenant", "quota"]
    )
    evicted = CounterMetricFamily(
        "imagecache_tenant_evicted", "a tenant's results evicted to keep within stored_bytes", labels=["tenant"]
    )
    pending = GaugeMetricFamily("imagecache_tenant_pending", "entries a tenant started, pending", labels=["tenant"])
    stored = GaugeMetricFamily("imagecache_tenant_stored_bytes", "bytes of a tenant's kept results", labels=["tenant"])
    quotas = GaugeMetricFamily("imagecache_tenant_quota", "a tenant's quotas (TENANTS)", labels=["tenant", "quota"])
    for row in rows:
        for answer, count in row.requests.items():
            requests.add_metric([row.name, answer], count)
        for quota, count in row.refused.items():
            refused.add_metric([row.name, quota], count)
        for quota, bound in row.quotas.items():
            quotas.add_metric([row.name, quota], bound)
        evicted.add_metric([row.name], row.evicted)
        pending.add_metric([row.name], row.pending)
        stored.add_metric([row.name], row.stored_bytes)
    yield from (requests, refused, evicted, pending, stored, quotas)


class MetricsResource:
    def __init__(self, statistics: CacheStatistics) -> None:
        self._cache_figures = CollectorRegistry()
        self._cache_figures.register(CacheCollector(statistics))

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """This instance's request figures always; the cluster's cache figures while Redis answers, and
        `imagecache_redis_up` saying whether it did (what an alert on a Redis outage reads)."""
        resp.content_type = CONTENT_TYPE_LATEST
        try:
            cache_figures, redis_up = generate_latest(self._cache_figures), 1
        except Exception as exc:
            if not is_outage(exc):
                raise
            log.warning("metrics: cache figures left out: Redis unavailable: %s", exc)
            cache_figures, redis_up = b"", 0
        resp.data = generate_latest(_request_figures()) + cache_figures + _redis_up(redis_up)


def _redis_up(value: int) -> bytes:
    registry = CollectorRegistry()
    Gauge("imagecache_redis_up", "whether Redis answered this scrape", registry=registry).set(value)
    return generate_latest(registry)


def _request_figures() -> CollectorRegistry:
    """All of this instance's gunicorn workers, or just this process outside gunicorn."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry

"""The `chart` job kind: a Kentik-style top-X stacked-area chart, computed from the query alone.

The series are pseudo-random but seeded by the query, so the same query
always draws the same chart; the formats, metrics and query shape are
Kentik's. What the chart shows (time over `lookback_seconds`, the metric's
unit, one legend label per series) is read from the query here; how it is
drawn is chart_drawing.py's business.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from imagecache.config import Config
from imagecache.domain.errors import FetchError
from imagecache.jobs import JobKind, JobResult
from imagecache.jobs.kinds.chart_drawing import PALETTE, Chart, render
from imagecache.jobs.kinds.image_types import MIME_TYPES
from imagecache_client.ids import canonical_json

# Kentik's metrics, each with the unit its charts label the value axis with and a typical magnitude.
UNITS = {
    "bytes": ("bits/s", 1e8),
    "in_bytes": ("bits/s", 1e8),
    "out_bytes": ("bits/s", 1e8),
    "packets": ("packets/s", 1e5),
    "in_packets": ("packets/s", 1e5),
    "out_packets": ("packets/s", 1e5),
    "tcp_retransmit": ("retransmits/s", 1e2),
    "perc_retransmits": ("%", 1.0),
    "unique_src_ip": ("unique source IPs", 1e3),
    "unique_dst_ip": ("unique destination IPs", 1e3),
    "unique_src_as": ("unique source ASNs", 1e2),
    "unique_dst_as": ("unique destination ASNs", 1e2),
    "fps": ("flows/s", 1e4),
    "client_latency": ("ms", 1.0),
    "server_latency": ("ms", 1.0),
    "appl_latency": ("ms", 1.0),
}
METRICS = set(UNITS)
POINTS = 60
DEFAULT_LOOKBACK = 3600
_PROTOCOLS = ["TCP", "UDP", "ICMP", "GRE", "ESP", "SCTP", "IPv6-ICMP", "OSPF", "IGMP", "PIM"]
_COUNTRIES = ["US", "DE", "JP", "BR", "GB", "FR", "IN", "NL", "SG", "AU"]


def check_query(query: Any) -> None:
    """The chart kind's check at POST: a query it cannot draw is a 400 naming the member, before any job."""
    _read(query)


def chart_for(query: Any) -> Chart:
    """Validate the query as Kentik would and compute its series."""
    image_type, metrics, first = _read(query)
    topx = first.get("topx", 8)
    topx = max(1, min(int(topx) if isinstance(topx, int) else 8, len(PALETTE)))
    dimensions = [str(d) for d in first.get("dimension") or ["Traffic"]]
    lookback = first.get("lookback_seconds", DEFAULT_LOOKBACK)
    lookback = (
        lookback
        if isinstance(lookback, int) and not isinstance(lookback, bool) and lookback >= 60
        else DEFAULT_LOOKBACK
    )
    seed = int.from_bytes(hashlib.sha256(canonical_json(query).encode()).digest()[:8], "big")
    rng = random.Random(seed)
    unit, magnitude = UNITS[metrics[0]]
    return Chart(
        title=f"{', '.join(metrics)} by {', '.join(dimensions)} (top {topx})",
        image_type="jpg" if image_type == "jpeg" else image_type,
        series=[_walk(rng, magnitude) for _ in range(topx)],
        labels=_labels(dimensions[0], topx, rng),
        unit=unit,
        lookback_seconds=lookback,
    )


def _read(query: Any) -> tuple[str, list[str], dict[str, Any]]:
    """The image type, the metrics and the first query, or a 400 naming what is wrong in Kentik's words (the
    simulator answers with them as Kentik would)."""
    if not isinstance(query, dict):
        raise _invalid("query must be a JSON object")
    image_type = str(query.get("imageType", "png")).lower()
    if image_type not in MIME_TYPES:
        raise _invalid(f"Invalid imageType: {image_type}")
    queries = query.get("queries")
    if (
        not isinstance(queries, list)
        or not queries
        or not all(isinstance(q, dict) and isinstance(q.get("query"), dict) for q in queries)
    ):
        raise _invalid("queries must be a non-empty list of objects with a 'query'")
    first = queries[0]["query"]
    metrics = first.get("metric") or ["bytes"]
    metrics = metrics if isinstance(metrics, list) else [metrics]
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise _invalid(f"Invalid metric: {unknown[0]}")
    return image_type, metrics, first


def _invalid(message: str) -> FetchError:
    return FetchError(400, message, kind="invalid chart query", definitive=True)


def _walk(rng: random.Random, magnitude: float) -> list[float]:
    level = rng.uniform(0.1, 1.0) * magnitude
    values = []
    for _ in range(POINTS):
        level = max(magnitude / 100, level + rng.gauss(0, level * 0.08))
        values.append(level)
    return values


def _labels(dimension: str, count: int, rng: random.Random) -> list[str]:
    """Plausible names for the top-X keys of a dimension (Kentik's legend shows the keys)."""
    name = dimension.lower()
    if "as" in name.split("_") or name.startswith("as"):
        return [f"AS{n}" for n in rng.sample(range(64512, 65535), count)]
    if "ip" in name or "addr" in name:
        return [f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}" for _ in range(count)]
    if "port" in name:
        return [str(port) for port in rng.sample([22, 25, 53, 80, 123, 443, 993, 3306, 5432, 8080], count)]
    if "proto" in name:
        return _PROTOCOLS[:count]
    if "country" in name or "geo" in name:
        return _COUNTRIES[:count]
    return [f"{dimension} #{n + 1}" for n in range(count)]


class LocalRenderer:
    """Computes chart images in the worker, for installs without Kentik."""

    def run(self, query: Any) -> JobResult:
        chart = chart_for(query)
        return JobResult(chart.content_type, render(chart))


def chart_job(config: Config) -> JobKind:
    """The `chart` job kind: what a deployment without Kentik credentials answers every request with."""
    return JobKind(
        run=LocalRenderer().run,
        validate=check_query,
        timeout=60,
        concurrency=config.upstream_max_concurrency,
        default_ttl=config.default_ttl,
        description="A top-X stacked-area chart drawn locally from the query (no Kentik account needed)",
    )

"""A Kentik-style top-X stacked-area chart, computed from the query alone.

The series are pseudo-random but seeded by the query, so the same query
always draws the same chart; the formats are the ones Kentik renders.
"""

from __future__ import annotations

import hashlib
import io
import random
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFont

from imagecache.domain.errors import FetchError
from imagecache.domain.ports import FetchResult
from imagecache.fetchers.image_types import MIME_TYPES
from imagecache_client.ids import canonical_json

METRICS = {
    "bytes",
    "in_bytes",
    "out_bytes",
    "packets",
    "in_packets",
    "out_packets",
    "tcp_retransmit",
    "perc_retransmits",
    "unique_src_ip",
    "unique_dst_ip",
    "unique_src_as",
    "unique_dst_as",
    "fps",
    "client_latency",
    "server_latency",
    "appl_latency",
}
WIDTH, HEIGHT, POINTS = 800, 400, 60
_MARGIN = (60, 40, 20, 40)  # left, top, right, bottom
_PALETTE = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]


@dataclass(frozen=True)
class Chart:
    title: str
    image_type: str
    series: list[list[float]]

    @property
    def content_type(self) -> str:
        return MIME_TYPES[self.image_type]


def chart_for(query: Any) -> Chart:
    """Validate the query as Kentik would and compute its series."""
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
    topx = first.get("topx", 8)
    topx = max(1, min(int(topx) if isinstance(topx, int) else 8, len(_PALETTE)))
    dimension = ", ".join(str(d) for d in first.get("dimension") or ["Traffic"])
    title = f"{', '.join(metrics)} by {dimension} (top {topx})"
    seed = int.from_bytes(hashlib.sha256(canonical_json(query).encode()).digest()[:8], "big")
    rng = random.Random(seed)
    series = [_walk(rng) for _ in range(topx)]
    return Chart(title, "jpg" if image_type == "jpeg" else image_type, series)


def render(chart: Chart) -> bytes:
    if chart.image_type == "svg":
        return _svg(chart).encode()
    image = _raster(chart)
    out = io.BytesIO()
    if chart.image_type == "png":
        image.save(out, "PNG", compress_level=1)
    elif chart.image_type == "jpg":
        image.save(out, "JPEG", quality=85)
    else:
        image.save(out, "PDF", resolution=96)
    return out.getvalue()


def _invalid(message: str) -> FetchError:
    return FetchError(400, message, definitive=True)


def _walk(rng: random.Random) -> list[float]:
    level = rng.uniform(10, 100)
    values = []
    for _ in range(POINTS):
        level = max(1.0, level + rng.gauss(0, level * 0.08))
        values.append(level)
    return values


def _polygons(chart: Chart) -> list[list[tuple[float, float]]]:
    """Each series as the closed outline of its band in the stack, in pixels."""
    left, top, right, bottom = _MARGIN
    totals = [sum(column) for column in zip(*chart.series)]
    peak = max(totals) * 1.1
    xs = [left + i * (WIDTH - left - right) / (POINTS - 1) for i in range(POINTS)]
    height = HEIGHT - top - bottom
    base = [0.0] * POINTS
    bands = []
    for values in chart.series:
        upper = [b + v for b, v in zip(base, values)]
        outline = [(x, HEIGHT - bottom - u / peak * height) for x, u in zip(xs, upper)]
        outline += [(x, HEIGHT - bottom - b / peak * height) for x, b in reversed(list(zip(xs, base)))]
        bands.append(outline)
        base = upper
    return bands


def _raster(chart: Chart) -> Image.Image:
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=14)
    for outline, color in zip(_polygons(chart), _PALETTE):
        draw.polygon(outline, fill=color)
    left, top, right, bottom = _MARGIN
    draw.line([(left, top), (left, HEIGHT - bottom), (WIDTH - right, HEIGHT - bottom)], fill="black", width=1)
    draw.text((left, 10), chart.title, fill="black", font=font)
    return image


def _svg(chart: Chart) -> str:
    left, top, right, bottom = _MARGIN
    shapes = [
        f'<polygon fill="{color}" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in outline)}"/>'
        for outline, color in zip(_polygons(chart), _PALETTE)
    ]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}"><rect width="100%" height="100%" fill="white"/>'
        + "".join(shapes)
        + f'<polyline fill="none" stroke="black" points="{left},{top} {left},{HEIGHT - bottom} '
        f'{WIDTH - right},{HEIGHT - bottom}"/>'
        f'<text x="{left}" y="24" font-family="sans-serif" font-size="14">{escape(chart.title)}</text></svg>'
    )


class LocalRenderer:
    """Computes chart images in the worker, for installs without Kentik."""

    def fetch(self, query: Any) -> FetchResult:
        chart = chart_for(query)
        return FetchResult(chart.content_type, render(chart))

"""A Chart (what chart.py reads from a query) and its drawing as Kentik's charts read: a title, a value axis in
the metric's unit, a time axis ticked over the lookback, the stacked series, and a legend naming each; as SVG,
or rasterised by Pillow for PNG, JPEG and PDF. Both formats draw from one layout, so they show the same chart."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFont

from imagecache.jobs.kinds.image_types import MIME_TYPES

WIDTH, HEIGHT = 800, 400
LEFT, TOP, RIGHT, BOTTOM = 80, 48, WIDTH - 180, HEIGHT - 56  # the plot area
PALETTE = [
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
_TIME_STEPS = [10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800]
_SI = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]


@dataclass(frozen=True)
class Chart:
    title: str
    image_type: str
    series: list[list[float]]
    labels: list[str]  # one per series, as the legend names them
    unit: str
    lookback_seconds: int

    @property
    def content_type(self) -> str:
        return MIME_TYPES[self.image_type]


@dataclass(frozen=True)
class Tick:
    at: float  # pixels along its axis
    label: str


@dataclass(frozen=True)
class Layout:
    bands: list[list[tuple[float, float]]]  # each series' outline in the stack, in pixels
    value_ticks: list[Tick]  # y positions
    time_ticks: list[Tick]  # x positions


def render(chart: Chart) -> bytes:
    layout = lay_out(chart)
    if chart.image_type == "svg":
        return _svg(chart, layout).encode()
    image = _raster(chart, layout)
    out = io.BytesIO()
    if chart.image_type == "png":
        image.save(out, "PNG", compress_level=1)
    elif chart.image_type == "jpg":
        image.save(out, "JPEG", quality=85)
    else:
        image.save(out, "PDF", resolution=96)
    return out.getvalue()


def lay_out(chart: Chart) -> Layout:
    points = len(chart.series[0])
    totals = [sum(column) for column in zip(*chart.series)]
    step = _nice_step(max(totals) / 5)
    top_value = step * math.ceil(max(totals) / step)
    xs = [LEFT + i * (RIGHT - LEFT) / (points - 1) for i in range(points)]

    def y(value: float) -> float:
        return BOTTOM - value / top_value * (BOTTOM - TOP)

    base = [0.0] * points
    bands = []
    for values in chart.series:
        upper = [b + v for b, v in zip(base, values)]
        outline = [(x, y(u)) for x, u in zip(xs, upper)] + [(x, y(b)) for x, b in reversed(list(zip(xs, base)))]
        bands.append(outline)
        base = upper
    value_ticks = [Tick(y(n * step), _si(n * step)) for n in range(round(top_value / step) + 1)]
    return Layout(bands, value_ticks, _time_ticks(chart.lookback_seconds))


def _nice_step(raw: float) -> float:
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def _si(value: float) -> str:
    for size, prefix in _SI:
        if value >= size:
            return f"{value / size:g} {prefix}"
    return f"{value:g}"


def _time_ticks(lookback: int) -> list[Tick]:
    """Every `step` back from now, at most eight of them: `-45m`, `-30m`, ..., `now`."""
    step = next((s for s in _TIME_STEPS if lookback / s <= 8), 86400 * math.ceil(lookback / 8 / 86400))
    ticks = []
    for ago in range(0, lookback + 1, step):
        ticks.append(Tick(RIGHT - ago / lookback * (RIGHT - LEFT), _ago(ago)))
    return ticks[::-1]


def _ago(seconds: int) -> str:
    if seconds == 0:
        return "now"
    for size, suffix in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"-{seconds / size:g}{suffix}"
    return f"-{seconds}s"


def _svg(chart: Chart, layout: Layout) -> str:
    text = '<text x="{:.1f}" y="{:.1f}" font-family="sans-serif" font-size="{}" text-anchor="{}">{}</text>'
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}">',
        '<rect width="100%" height="100%" fill="white"/>',
        text.format(LEFT, 24, 16, "start", escape(chart.title)),
    ]
    for tick in layout.value_ticks:
        parts.append(f'<line x1="{LEFT}" y1="{tick.at:.1f}" x2="{RIGHT}" y2="{tick.at:.1f}" stroke="#ddd"/>')
        parts.append(text.format(LEFT - 6, tick.at + 4, 11, "end", escape(tick.label)))
    for outline, color in zip(layout.bands, PALETTE):
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in outline)
        parts.append(f'<polygon fill="{color}" fill-opacity="0.85" points="{points}"/>')
    for tick in layout.time_ticks:
        parts.append(f'<line x1="{tick.at:.1f}" y1="{BOTTOM}" x2="{tick.at:.1f}" y2="{BOTTOM + 5}" stroke="black"/>')
        parts.append(text.format(tick.at, BOTTOM + 18, 11, "middle", escape(tick.label)))
    parts.append(f'<polyline fill="none" stroke="black" points="{LEFT},{TOP} {LEFT},{BOTTOM} {RIGHT},{BOTTOM}"/>')
    parts.append(text.format(12, TOP - 10, 12, "start", escape(chart.unit)))
    parts.append(text.format((LEFT + RIGHT) / 2, BOTTOM + 40, 12, "middle", "time"))
    for n, (label, color) in enumerate(zip(chart.labels, PALETTE)):
        y = TOP + n * 22
        parts.append(f'<rect x="{RIGHT + 16}" y="{y}" width="12" height="12" fill="{color}"/>')
        parts.append(text.format(RIGHT + 34, y + 11, 12, "start", escape(label)))
    parts.append("</svg>")
    return "".join(parts)


def _raster(chart: Chart, layout: Layout) -> Image.Image:
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font, small = ImageFont.load_default(size=16), ImageFont.load_default(size=11)
    draw.text((LEFT, 10), chart.title, fill="black", font=font)
    for tick in layout.value_ticks:
        draw.line([(LEFT, tick.at), (RIGHT, tick.at)], fill="#dddddd")
        draw.text((LEFT - 6, tick.at), tick.label, fill="black", font=small, anchor="rm")
    for outline, color in zip(layout.bands, PALETTE):
        draw.polygon(outline, fill=color)
    for tick in layout.time_ticks:
        draw.line([(tick.at, BOTTOM), (tick.at, BOTTOM + 5)], fill="black")
        draw.text((tick.at, BOTTOM + 8), tick.label, fill="black", font=small, anchor="mt")
    draw.line([(LEFT, TOP), (LEFT, BOTTOM), (RIGHT, BOTTOM)], fill="black", width=1)
    draw.text((12, TOP - 22), chart.unit, fill="black", font=small)
    draw.text(((LEFT + RIGHT) / 2, BOTTOM + 30), "time", fill="black", font=small, anchor="mt")
    for n, (label, color) in enumerate(zip(chart.labels, PALETTE)):
        y = TOP + n * 22
        draw.rectangle([(RIGHT + 16, y), (RIGHT + 28, y + 12)], fill=color)
        draw.text((RIGHT + 34, y), label, fill="black", font=small)
    return image

"""The `mandelbrot` job kind: a PNG of the Mandelbrot set for a view, `{"width", "height", "center", "zoom",
"quality"}` (all optional). Pillow draws it (Image.effect_mandelbrot) in bands of rows, reporting its progress
after each; the PNG goes to a file whose path is the result, as a job with a large result would do."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from PIL import Image

from imagecache.jobs import JobError, JobKind, JobResult, report_progress

MAX_SIDE = 4096
STRIPS = 8  # bands of rows drawn one after another, progress reported after each
DEFAULTS: dict[str, Any] = {"width": 320, "height": 240, "center": [-0.5, 0.0], "zoom": 1.0, "quality": 100}


def validate(query: Any) -> None:
    """A 400 at POST for anything but a view this job can draw."""
    if not isinstance(query, dict):
        raise _invalid("the query must be an object")
    unknown = sorted(set(query) - set(DEFAULTS))
    if unknown:
        raise _invalid(f"unknown field {unknown[0]!r}; known: {', '.join(DEFAULTS)}")
    view = {**DEFAULTS, **query}
    for side in ("width", "height"):
        if not _integer(view[side]) or not 1 <= view[side] <= MAX_SIDE:
            raise _invalid(f"{side!r} must be an integer from 1 to {MAX_SIDE}")
    if not _integer(view["quality"]) or not 2 <= view["quality"] <= 10_000:  # Pillow refuses one iteration
        raise _invalid("'quality' (iterations) must be an integer from 2 to 10000")
    center = view["center"]
    if not (isinstance(center, list) and len(center) == 2 and all(_number(c) for c in center)):
        raise _invalid("'center' must be [x, y]")
    if not _number(view["zoom"]) or not 0 < view["zoom"] <= 1e12:
        raise _invalid("'zoom' must be a number above 0")


def run(query: dict[str, Any]) -> JobResult:
    validate(query)  # a worker may get queries from web hosts without this package: check again
    view = {**DEFAULTS, **query}
    width, height = view["width"], view["height"]
    (x, y), span = view["center"], 3.0 / view["zoom"]
    half_w, half_h = span / 2, span * height / width / 2
    image = draw((width, height), (x - half_w, y - half_h, x + half_w, y + half_h), view["quality"])
    handle, path = tempfile.mkstemp(prefix="mandelbrot-", suffix=".png")
    with os.fdopen(handle, "wb") as out:
        image.save(out, "PNG")
    return JobResult("image/png", path=path)


def draw(size: tuple[int, int], extent: tuple[float, float, float, float], quality: int) -> Image.Image:
    """The view in STRIPS bands of rows, reporting progress after each. Pillow samples rows at y0 + (y1 - y0) * row /
    (height - 1), so each band's extent is its first and last row's: the picture one call draws, but for the odd
    pixel on the set's edge where float rounding of a band's extent tips its iteration count."""
    width, height = size
    x0, y0, x1, y1 = extent
    strips = max(1, min(STRIPS, height // 2))  # each band at least two rows: one row has no (height - 1)
    if strips == 1:
        return Image.effect_mandelbrot(size, extent, quality)
    step = (y1 - y0) / (height - 1)
    image = Image.new("L", size)
    bounds = [round(height * n / strips) for n in range(strips + 1)]
    for n, (top, bottom) in enumerate(zip(bounds, bounds[1:]), start=1):
        band = Image.effect_mandelbrot(
            (width, bottom - top), (x0, y0 + step * top, x1, y0 + step * (bottom - 1)), quality
        )
        image.paste(band, (0, top))
        report_progress(n / strips, f"rows {top}-{bottom - 1} of {height} drawn")
    return image


def _invalid(message: str) -> JobError:
    return JobError(400, message, definitive=True)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


job = JobKind(
    run=run,
    validate=validate,
    timeout=120,
    concurrency=2,
    default_ttl=7 * 24 * 3600,
    description="A PNG of the Mandelbrot set: width, height, center [x, y], zoom, quality (iterations)",
)

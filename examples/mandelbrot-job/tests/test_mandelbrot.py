"""The example job on its own: what it draws, what it refuses."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from imagecache.domain.progress import reporting
from imagecache.jobs import JobError
from mandelbrot_job import draw, job


def test_a_view_is_a_png_file_of_its_size_handed_over_by_path():
    result = job.run({"width": 64, "height": 48, "zoom": 2})
    assert result.content_type == "image/png" and result.data == b""
    with Image.open(result.path) as image:
        assert (image.format, image.size) == ("PNG", (64, 48))
    os.unlink(result.path)


@given(
    size=st.tuples(st.integers(1, 120), st.integers(1, 120)),
    center=st.tuples(st.floats(-2, 1), st.floats(-1.2, 1.2)),
    zoom=st.floats(0.5, 1e6),
    quality=st.integers(2, 2000),
)
@settings(max_examples=60, deadline=None)
def test_drawn_in_bands_it_is_the_picture_one_call_draws_but_for_the_odd_edge_pixel(size, center, zoom, quality):
    (x, y), span = center, 3.0 / zoom
    extent = (x - span / 2, y - span / 2, x + span / 2, y + span / 2)
    whole, banded = Image.effect_mandelbrot(size, extent, quality).tobytes(), draw(size, extent, quality).tobytes()
    differing = sum(a != b for a, b in zip(banded, whole))
    assert len(banded) == len(whole) and differing <= 4 + len(whole) // 100  # 0.4% at worst in 3,000 views


def test_it_reports_its_progress_band_by_band_to_the_end():
    reports = []
    with reporting(reports.append, clock=iter(range(0, 1000, 10)).__next__):  # far apart: none held back
        draw((32, 64), (-2.0, -1.0, 1.0, 1.0), 20)
    assert [r.fraction for r in reports] == [n / 8 for n in range(1, 9)] and reports[-1].message.endswith("of 64 drawn")


@pytest.mark.parametrize(
    "query",
    [
        [],
        {"width": 0},
        {"width": 5000},
        {"height": "9"},
        {"zoom": 0},
        {"center": [1]},
        {"quality": True},
        {"quality": 1},
        {"x": 1},
    ],
)
def test_a_query_it_cannot_draw_is_a_definitive_400(query):
    with pytest.raises(JobError) as raised:
        job.validate(query)
    assert raised.value.status == 400 and raised.value.definitive

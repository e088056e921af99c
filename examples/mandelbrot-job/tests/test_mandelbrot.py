"""The example job on its own: what it draws, what it refuses."""

from __future__ import annotations

import os

import pytest
from PIL import Image

from imagecache.jobs import JobError
from mandelbrot_job import job


def test_a_view_is_a_png_file_of_its_size_handed_over_by_path():
    result = job.run({"width": 64, "height": 48, "zoom": 2})
    assert result.content_type == "image/png" and result.data == b""
    with Image.open(result.path) as image:
        assert (image.format, image.size) == ("PNG", (64, 48))
    os.unlink(result.path)


@pytest.mark.parametrize(
    "query",
    [[], {"width": 0}, {"width": 5000}, {"height": "9"}, {"zoom": 0}, {"center": [1]}, {"quality": True}, {"x": 1}],
)
def test_a_query_it_cannot_draw_is_a_definitive_400(query):
    with pytest.raises(JobError) as raised:
        job.validate(query)
    assert raised.value.status == 400 and raised.value.definitive

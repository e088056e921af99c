import io
import xml.etree.ElementTree as ElementTree

import pytest
from PIL import Image

from imagecache.domain.errors import FetchError
from imagecache.fetchers.chart import LocalRenderer
from tests.support.upstream import make_query


@pytest.mark.parametrize(("kind", "mime", "pil_format"), [("png", "image/png", "PNG"), ("jpg", "image/jpeg", "JPEG")])
def test_raster_charts_decode(kind, mime, pil_format):
    result = LocalRenderer().fetch(make_query(kind))
    assert result.content_type == mime
    image = Image.open(io.BytesIO(result.data))
    assert image.format == pil_format and image.size == (800, 400)


def test_svg_chart_is_well_formed_xml():
    result = LocalRenderer().fetch(make_query("svg"))
    assert result.content_type == "image/svg+xml"
    assert ElementTree.fromstring(result.data).tag.endswith("svg")


def test_pdf_chart_is_a_pdf():
    result = LocalRenderer().fetch(make_query("pdf"))
    assert result.content_type == "application/pdf" and result.data.startswith(b"%PDF")


def test_same_query_same_chart_other_query_other_chart():
    query = make_query()
    assert LocalRenderer().fetch(query).data == LocalRenderer().fetch(query).data
    assert LocalRenderer().fetch(make_query()).data != LocalRenderer().fetch(query).data


@pytest.mark.parametrize(
    "query",
    [make_query(metric=["buckets"]), {"queries": []}, {"queries": [{"no": "query"}]}, make_query("gif"), []],
)
def test_queries_it_cannot_chart_are_definitive_400s(query):
    with pytest.raises(FetchError) as raised:
        LocalRenderer().fetch(query)
    assert raised.value.status == 400 and raised.value.definitive

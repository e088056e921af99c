import io
import re
import xml.etree.ElementTree as ElementTree

import pytest
from PIL import Image

from imagecache.domain.errors import FetchError
from imagecache.jobs.kinds import chart_drawing
from imagecache.jobs.kinds.chart import LocalRenderer, chart_for
from testkit.upstream import make_query


@pytest.mark.parametrize(("kind", "mime", "pil_format"), [("png", "image/png", "PNG"), ("jpg", "image/jpeg", "JPEG")])
def test_raster_charts_decode(kind, mime, pil_format):
    result = LocalRenderer().run(make_query(kind))
    assert result.content_type == mime
    image = Image.open(io.BytesIO(result.data))
    assert image.format == pil_format and image.size == (800, 400)


def test_svg_chart_is_well_formed_xml():
    result = LocalRenderer().run(make_query("svg"))
    assert result.content_type == "image/svg+xml"
    assert ElementTree.fromstring(result.data).tag.endswith("svg")


def test_pdf_chart_is_a_pdf():
    result = LocalRenderer().run(make_query("pdf"))
    assert result.content_type == "application/pdf" and result.data.startswith(b"%PDF")


def test_same_query_same_chart_other_query_other_chart():
    query = make_query()
    assert LocalRenderer().run(query).data == LocalRenderer().run(query).data
    assert LocalRenderer().run(make_query()).data != LocalRenderer().run(query).data


@pytest.mark.parametrize(
    "query",
    [make_query(metric=["buckets"]), {"queries": []}, {"queries": [{"no": "query"}]}, make_query("gif"), []],
)
def test_queries_it_cannot_chart_are_definitive_400s(query):
    with pytest.raises(FetchError) as raised:
        LocalRenderer().run(query)
    assert raised.value.status == 400 and raised.value.definitive


@pytest.mark.parametrize(
    ("metric", "dimension", "lookback", "unit", "legend"),
    [
        ("bytes", "AS_src", 3600, "bits/s", r"AS\d+"),
        ("packets", "IP_dst", 86400, "packets/s", r"10\.\d+\.\d+\.\d+"),
        ("client_latency", "Proto", 600, "ms", r"[A-Z0-9-]+"),
    ],
)
def test_an_svg_chart_reads_as_kentiks_do(metric, dimension, lookback, unit, legend):
    """A title, at least four time ticks over the lookback ending at now, the metric's unit, and one legend
    label per series."""
    query = make_query("svg", metric=[metric], dimension=[dimension], lookback_seconds=lookback, topx=5)
    svg = ElementTree.fromstring(LocalRenderer().run(query).data)
    texts = [element.text for element in svg.iter("{http://www.w3.org/2000/svg}text")]
    chart = chart_for(query)
    assert chart.title == f"{metric} by {dimension} (top 5)" and chart.title in texts
    ticks = [text for text in texts if re.fullmatch(r"-\d+(\.\d+)?[smhd]|now", text)]
    assert len(ticks) >= 4 and ticks[-1] == "now" and ticks[0] == chart_drawing._ago(lookback)
    assert unit in texts
    assert len(chart.labels) == 5 == len(set(chart.labels)) and set(chart.labels) <= set(texts)
    assert all(re.fullmatch(legend, label) for label in chart.labels)


@pytest.mark.parametrize("lookback", [60, 300, 3600, 7 * 86400, 90 * 86400])
def test_every_lookback_gets_four_to_nine_time_ticks(lookback):
    assert 4 <= len(chart_drawing._time_ticks(lookback)) <= 9

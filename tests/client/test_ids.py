import hashlib
import math

import pytest

from imagecache_client.ids import EntryId, canonical_json, format_expiry, query_digest


def test_canonical_json_ignores_key_order_and_whitespace():
    assert canonical_json({"b": 1, "a": [1, {"d": 2, "c": 3}]}) == '{"a":[1,{"c":3,"d":2}],"b":1}'


def test_canonical_json_keeps_unicode_unescaped():
    assert canonical_json({"name": "Zürich"}) == '{"name":"Zürich"}'


def test_digest_is_sha256_of_canonical_utf8():
    query = {"imageType": "png", "queries": []}
    expected = hashlib.sha256(b'{"imageType":"png","queries":[]}').hexdigest()
    assert query_digest(query) == expected
    assert query_digest({"queries": [], "imageType": "png"}) == expected


def test_nan_is_not_a_json_value():
    with pytest.raises(ValueError):
        canonical_json({"x": math.nan})


def test_id_round_trips_with_microsecond_expiry():
    entry_id = EntryId("a" * 64, 1622181773.873009)
    assert str(entry_id) == "a" * 64 + "_1622181773.873009"
    assert EntryId.parse(str(entry_id)) == entry_id


def test_whole_second_expiry_has_no_fraction():
    assert format_expiry(1622181773.0) == "1622181773"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a" * 64,
        "a" * 63 + "_1",
        "A" * 64 + "_1",
        "a" * 64 + "_",
        "a" * 64 + "_1.",
        "a" * 64 + "_-1",
        "a" * 64 + "_1e9",
        "a" * 64 + "_nan",
        "../" + "a" * 61 + "_1",
        "a" * 64 + "_1/../../etc",
        "a" * 64 + "_1\n",
    ],
)
def test_anything_but_an_exact_id_is_refused(text):
    assert EntryId.parse(text) is None


def test_a_named_kinds_digest_never_equals_any_default_kind_digest():
    """Not even of a query built to look like the named kind's subject."""
    query = {"queries": [], "imageType": "png"}
    lookalikes = [{"api_query": query, "job": "chart"}, f"job:chart\n{canonical_json(query)}"]
    assert query_digest(query, "chart") not in {query_digest(lookalike) for lookalike in lookalikes}
    assert query_digest(query, "chart") != query_digest(query, "mandelbrot") != query_digest(query)

"""The request models refuse exactly what their published JSON Schema calls invalid, over any JSON a client
may send (hypothesis): what the document says and what the server does are one definition."""

from __future__ import annotations

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from imagecache.config import load_config
from imagecache.web.contract.openapi import OpenApiDocument, SwitchedOn
from imagecache.web.contract.requests import MAX_TAGS, CacheIdParams, Contract, EventIds, PurgeRequest

CONFIG = load_config(redis_url="redis://127.0.0.1:6379/13", max_ttl=86400, _env_file=None)
CONTRACT = Contract.of(CONFIG)
KINDS = ["chart", "kentik"]
DOCUMENT = OpenApiDocument(CONTRACT, SwitchedOn(), kinds=KINDS).build()

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.sampled_from([0, 1, 2, 86399, 86400, 86401, 2**53]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, 1.0, 5.0, 5.5, 86400.0, 86401.0]),
    st.text(max_size=8),
    st.sampled_from(["", "kentik", "chart", "x" * 64, "x" * 65, "tag\n", "é", "https://a.example/"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)
tags = st.lists(st.sampled_from(["a", "", "tag\n", "x" * 128, "x" * 129, " ~", "é", "a\x7f"]), max_size=MAX_TAGS + 2)
entry_ids = st.lists(
    st.sampled_from(["0" * 64 + "_1", "a" * 64 + "_123.5", "A" * 64 + "_1", "0" * 64 + "_1\n", "nope", ""]),
    max_size=102,
)


@st.composite
def near_valid(draw: st.DrawFn, required: dict, optional: dict) -> dict:
    """An object valid but for at most one member, which may be any JSON at all (or missing)."""
    body = draw(st.fixed_dictionaries(required, optional=optional))
    name = draw(st.sampled_from([*required, *optional]))
    choice = draw(st.sampled_from(["keep", "replace", "drop"]))
    if choice == "replace":
        body[name] = draw(scalars | json_values)
    elif choice == "drop":
        body.pop(name, None)
    return body


whole_seconds = st.integers(min_value=0, max_value=86400)
IMAGE_REQUESTS = near_valid(
    {"api_query": st.dictionaries(st.text(max_size=3), json_values, max_size=3)},
    {
        "ttl": whole_seconds.filter(bool) | st.sampled_from([1.0, 86400.0]),
        "max_age": whole_seconds,
        "refresh": st.booleans(),
        "stale_while_revalidate": whole_seconds,
        "stale_if_error": whole_seconds,
        "tags": tags,
        "callback_url": st.just("https://a.example/"),
        "job": st.sampled_from(["chart", "kentik"]),
    },
)


def accepted(model: type[BaseModel], body: object) -> bool:
    """What the server takes: the model's check, then (for a request) the live one of its job kind, which the
    document lists."""
    try:
        asked = model.model_validate(body)
    except ValidationError:
        return False
    return getattr(asked, "job", None) in (None, *KINDS)


def published(model: type[BaseModel]) -> jsonschema_rs.Validator:
    schema = {**DOCUMENT["components"]["schemas"][model.__name__], "components": DOCUMENT["components"]}
    return jsonschema_rs.validator_for(schema)


@pytest.mark.parametrize(
    ("model", "bodies"),
    [
        (CONTRACT.image_request, IMAGE_REQUESTS | json_values),
        (PurgeRequest, near_valid({"tags": tags}, {"soft": st.booleans()}) | json_values),
        (EventIds, near_valid({"ids": entry_ids}, {}) | json_values),
        (CacheIdParams, json_values),
    ],
    ids=["requests", "purge", "events", "cache_id"],
)
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_the_model_refuses_exactly_what_the_document_calls_invalid(model, bodies, data):
    body = data.draw(bodies)
    assert accepted(model, body) == published(model).is_valid(body), body

"""/events refuses what its documented query and body call invalid, before a stream or a wait slot is taken."""

from __future__ import annotations

import pytest

ENTRY = "0" * 64 + "_9999999999"


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ("id=nope", "id"),
        (f"id={'A' * 64}_1", "id"),
        (f"id={ENTRY}%0A", "id"),
        ("&".join([f"id={ENTRY}"] * 41), "id"),
        ("", "id"),
        (f"id={ENTRY}&wait=-1", "wait"),
        (f"id={ENTRY}&wait=nan", "wait"),
        (f"id={ENTRY}&wait=1e9", "wait"),
    ],
)
def test_a_query_the_document_calls_invalid_is_400(client, query, loc):
    answer = client.simulate_get("/events", query_string=query)
    assert answer.status_code == 400 and answer.json["loc"] == loc and answer.json["type"] == "invalid request"


@pytest.mark.parametrize(
    ("body", "loc"),
    [({"ids": [ENTRY] * 101}, "ids"), ({"ids": ["nope"]}, "ids"), ({"ids": []}, "ids"), ([ENTRY], "body")],
)
def test_a_body_the_document_calls_invalid_is_400(client, body, loc):
    answer = client.simulate_post("/events", json=body)
    assert answer.status_code == 400 and answer.json["loc"] == loc


def test_an_unknown_id_of_the_right_shape_is_an_event_saying_so(client):
    stream = client.simulate_get("/events", query_string=f"id={ENTRY}&wait=0")
    assert stream.status_code == 200 and '"status": "not_found"' in stream.text and "event: done" in stream.text

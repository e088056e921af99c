"""/requests and /image through the app: what a client sends becomes one entry, served once it settles."""

from __future__ import annotations

import io
import time

import pytest

from imagecache.domain.entry_record import EntryRecord

QUERY = {"queries": [{"bucket": "Left +Y Axis", "query": {"metric": ["bytes"]}}], "imageType": "png"}


def produce(components, entry_id: str, data: bytes) -> None:
    """What a worker does, without one: store the result and complete the entry."""
    key = EntryRecord.attempt_key(entry_id)
    info = components.blobs.put(key, io.BytesIO(data), "image/png")
    assert components.entries.complete(
        entry_id, now=time.time(), content_type="image/png", size=info.size, etag=info.sha256, blob_key=key
    )


def test_a_post_answers_at_once_and_the_image_follows(client, components):
    posted = client.simulate_post("/requests", json={"api_query": QUERY, "ttl": 60})
    assert posted.status_code == 200 and posted.json["status"] == "pending"
    entry_id = posted.json["id"]
    assert client.simulate_get(f"/requests/{entry_id}").json["status"] == "pending"
    pending = client.simulate_get(f"/image/{entry_id}")
    assert pending.status_code == 504 and pending.headers["Imagecache-Entry-Status"] == "pending"

    produce(components, entry_id, b"\x89PNG bytes")
    settled = client.simulate_get(f"/requests/{entry_id}").json
    assert settled["type"] == settled["content_type"] == "image/png"  # `type`, as /info and /events name it
    image = client.simulate_get(f"/image/{entry_id}")
    assert image.status_code == 200 and image.content == b"\x89PNG bytes"
    assert image.headers["Content-Type"] == "image/png" and "immutable" in image.headers["Cache-Control"]
    again = client.simulate_get(f"/image/{entry_id}", headers={"If-None-Match": image.headers["ETag"]})
    assert again.status_code == 304
    part = client.simulate_get(f"/image/{entry_id}", headers={"Range": "bytes=1-3"})
    assert part.status_code == 206 and part.content == b"PNG"


def test_the_same_query_joins_the_same_entry(client, components):
    first = client.simulate_post("/requests", json={"api_query": QUERY}).json["id"]
    second = client.simulate_post("/requests", json={"api_query": dict(reversed(QUERY.items()))}).json["id"]
    assert first == second and components.jobs.depth() == 1


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, "api_query"),
        ({"api_query": []}, "api_query"),
        ({"api_query": QUERY, "ttl": 0}, "ttl"),
        ({"api_query": QUERY, "refresh": "yes"}, "refresh"),
        ({"api_query": QUERY, "ttl": 5.5}, "ttl"),
        ({"api_query": QUERY, "ttl": "5"}, "ttl"),
        ({"api_query": QUERY, "tags": ["caf\u00e9"]}, "tags"),
        ({"api_query": QUERY, "tags": ["new\nline"]}, "tags"),
        ([QUERY], "body"),
        ({"api_query": {"queries": [{"query": {"metric": ["buckets"]}}]}}, "api_query"),  # the chart kind's check
        ({"api_query": {**QUERY, "imageType": "gif"}}, "api_query"),
    ],
)
def test_bad_bodies_are_400_and_change_nothing(client, components, body, loc):
    answer = client.simulate_post("/requests", json=body)
    assert answer.status_code == 400 and answer.json["loc"] == loc
    assert components.jobs.depth() == 0 and components.statistics.summary()["pending_count"] == 0


def test_an_integer_written_as_5_0_is_the_integer_5(client):
    """JSON Schema counts 5.0 an integer, so the document does, so the server does."""
    posted = client.simulate_post("/requests", json={"api_query": QUERY, "ttl": 60.0, "max_age": 0.0})
    assert posted.status_code == 200 and client.simulate_get(f"/requests/{posted.json['id']}").status_code == 200


@pytest.mark.parametrize("entry_id", ["nope", "a" * 64 + "_1", "..%2F..%2Fetc%2Fpasswd"])
def test_unknown_or_malformed_ids_are_404(client, entry_id):
    assert client.simulate_get(f"/image/{entry_id}").status_code == 404
    assert client.simulate_get(f"/requests/{entry_id}").status_code == 404


def test_an_error_entry_answers_its_own_status(client, components):
    entry_id = client.simulate_post("/requests", json={"api_query": QUERY}).json["id"]
    components.entries.fail(entry_id, now=time.time(), status=400, kind="Kentik API error", message="bad", until=1e10)
    answer = client.simulate_get(f"/image/{entry_id}")
    assert answer.status_code == 400 and answer.headers["Imagecache-Entry-Status"] == "error"
    assert answer.json == {"type": "Kentik API error", "loc": entry_id, "msg": "bad"}

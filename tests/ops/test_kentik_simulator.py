"""The upstream simulator speaks Kentik's protocol (in-process, via Falcon's test client)."""

import base64

import falcon.testing
import pytest

from imagecache.ops.kentik_simulator import Behaviour, create_simulator, pad_png
from testkit.upstream import make_query

AUTH = {"X-CH-Auth-Email": "a@example.com", "X-CH-Auth-API-Token": "t"}


@pytest.fixture
def client():
    return falcon.testing.TestClient(create_simulator(Behaviour(fail_first=1, fail_status=429)))


@pytest.mark.parametrize("path", ["/query/topXchart", "/query/topxchart", "/api/v5/query/TOPXCHART"])
def test_answers_a_data_uri_on_any_letter_case(client, path):
    client.simulate_post("/_sim/reset", json={"fail_first": 0})
    response = client.simulate_post(path, json=make_query("svg"), headers=AUTH)
    header, _, payload = response.json["dataUri"].partition(",")
    assert header == "data:image/svg+xml;base64"
    assert base64.b64decode(payload).startswith(b"<svg")


def test_without_auth_headers_is_401(client):
    assert client.simulate_post("/query/topXchart", json=make_query()).status_code == 401


def test_fails_first_calls_then_answers_and_counts(client):
    first = client.simulate_post("/query/topXchart", json=make_query(), headers=AUTH)
    assert first.status_code == 429 and first.headers["retry-after"] == "1"
    assert client.simulate_post("/query/topXchart", json=make_query(), headers=AUTH).status_code == 200
    stats = client.simulate_get("/_sim/stats").json
    assert (stats["calls"], stats["failures_sent"], stats["peak_concurrency"]) == (2, 1, 1)


def test_unknown_metric_is_400(client):
    client.simulate_post("/_sim/reset", json={"fail_first": 0})
    response = client.simulate_post("/query/topXchart", json=make_query(metric=["buckets"]), headers=AUTH)
    assert response.status_code == 400 and response.json == {"error": "Invalid metric: buckets"}


@pytest.mark.parametrize("path", ["/_sim/reset", "/_sim/behaviour"])
def test_a_change_refuses_unknown_behaviour(client, path):
    assert client.simulate_post(path, json={"speed": 1}).status_code == 400


def test_a_behaviour_change_keeps_the_counters(client):
    client.simulate_post("/query/topXchart", json=make_query(), headers=AUTH)  # the first fails: 429
    assert client.simulate_post("/_sim/behaviour", json={"fail_first": 0}).json["calls"] == 1
    assert client.simulate_post("/query/topXchart", json=make_query(), headers=AUTH).status_code == 200
    stats = client.simulate_get("/_sim/stats").json
    assert (stats["calls"], stats["failures_sent"]) == (2, 1)


def test_padded_png_keeps_its_end_and_size():
    from io import BytesIO

    from PIL import Image

    from imagecache.jobs.kinds.chart import LocalRenderer

    padded = pad_png(LocalRenderer().run(make_query()).data, 65536)
    assert len(padded) == 65536 and padded.endswith(b"IEND\xaeB`\x82")
    Image.open(BytesIO(padded)).load()

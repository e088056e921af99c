"""Errors say what happened: the index out is a 503 with Retry-After, a bug a 500 naming the request id."""

from __future__ import annotations

import falcon
import pytest
from falcon import testing
from redis.exceptions import ConnectionError, ResponseError

from imagecache.domain.errors import BlobNotFound, StorageUnavailable
from imagecache.domain.outages import recognise
from imagecache.redis_access.outages import redis_outage
from imagecache.web import error_responses
from imagecache.web.error_responses import ApiError
from imagecache.web.middleware.request_ids import RequestIdMiddleware

recognise(redis_outage)  # as the composition root does in every process


def client_raising(exc: Exception) -> testing.TestClient:
    class Failing:
        def on_get(self, req: falcon.Request, resp: falcon.Response, **params: str) -> None:
            raise exc

    app = falcon.App(middleware=[RequestIdMiddleware()])
    error_responses.install(app)
    app.add_route("/info", Failing())
    app.add_route("/v1/cache/{cache_id}", Failing())
    return testing.TestClient(app)


@pytest.mark.parametrize(
    "exc", [ConnectionError("Connection refused"), ResponseError("READONLY You can't write against a replica.")]
)
def test_the_index_out_is_a_503_that_says_so(exc):
    answer = client_raising(exc).simulate_get("/info")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    assert answer.json == {"type": "error", "loc": "/info", "msg": "cache index (Redis) is unavailable"}


@pytest.mark.parametrize("exc", [ValueError("a bug"), ResponseError("WRONGTYPE Operation against a key")])
def test_a_bug_is_a_500_naming_the_request_id(exc, caplog):
    answer = client_raising(exc).simulate_get("/info", headers={"X-Request-ID": "req-42"})
    assert answer.status_code == 500 and "req-42" in answer.json["msg"]
    assert any("req-42" in record.getMessage() or record.exc_info for record in caplog.records)
    assert str(exc) in caplog.text


def test_v1_errors_come_in_kbases_shape():
    answer = client_raising(ConnectionError("refused")).simulate_get("/v1/cache/abc")
    assert answer.status_code == 503 and answer.json == {
        "status": "error",
        "error": "cache index (Redis) is unavailable",
    }


@pytest.mark.parametrize(
    ("exc", "status"), [(StorageUnavailable("store down"), 503), (BlobNotFound("gone"), 404), (ValueError(), 500)]
)
def test_an_error_after_a_result_was_described_carries_none_of_its_cache_headers(exc, status):
    """As when storage fails while the blob is opened: a cache in front must not keep the error for the result's
    life."""

    class Serving:
        def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
            resp.cache_control = ["max-age=3600", "immutable"]
            resp.etag, resp.accept_ranges = "abc", "bytes"
            resp.set_header("Cache-Status", "imagecache; hit")
            raise exc

    app = falcon.App()
    error_responses.install(app)
    app.add_route("/image/x", Serving())
    answer = testing.TestClient(app).simulate_get("/image/x")
    assert answer.status_code == status
    assert not {"cache-control", "etag", "accept-ranges", "cache-status"} & {name.lower() for name in answer.headers}


def test_an_errors_own_cache_status_stays():
    answer = client_raising(ApiError(504, "pending", headers={"Cache-Status": "imagecache; fwd=miss"})).simulate_get(
        "/info"
    )
    assert answer.headers["Cache-Status"] == "imagecache; fwd=miss"

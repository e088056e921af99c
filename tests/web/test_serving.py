"""serve_blob on a bare Falcon app: ETags, ranges (RFC 9110) and HEAD, over a real filesystem blob."""

from __future__ import annotations

import io
from dataclasses import dataclass

import falcon
import pytest
from falcon import testing

from imagecache.blobs.filesystem import FilesystemBlobStore
from imagecache.web import error_responses
from imagecache.web.serving import serve_blob

DATA = b"0123456789"


@dataclass(frozen=True)
class Blob:
    etag: str
    size: int
    content_type: str = "application/octet-stream"


@pytest.fixture
def client(tmp_path) -> testing.TestClient:
    store = FilesystemBlobStore(tmp_path)
    info = store.put("files/ab/blob", io.BytesIO(DATA), "application/octet-stream")
    blob = Blob(info.sha256, info.size)

    class Resource:
        def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
            serve_blob(req, resp, blob, lambda start, length: store.open("files/ab/blob", start, length))

        on_head = on_get

    app = falcon.App()
    error_responses.install(app)
    app.add_route("/blob", Resource())
    return testing.TestClient(app)


def test_the_whole_blob_with_its_validators(client):
    answer = client.simulate_get("/blob")
    assert answer.status_code == 200 and answer.content == DATA
    assert answer.headers["Accept-Ranges"] == "bytes" and answer.headers["X-Content-Type-Options"] == "nosniff"
    assert client.simulate_get("/blob", headers={"If-None-Match": answer.headers["ETag"]}).status_code == 304
    assert client.simulate_get("/blob", headers={"If-None-Match": "*"}).status_code == 304


@pytest.mark.parametrize(
    ("header", "body", "content_range"),
    [("bytes=2-4", b"234", "bytes 2-4/10"), ("bytes=-3", b"789", "bytes 7-9/10"), ("bytes=8-", b"89", "bytes 8-9/10")],
)
def test_ranges(client, header, body, content_range):
    answer = client.simulate_get("/blob", headers={"Range": header})
    assert answer.status_code == 206 and answer.content == body and answer.headers["Content-Range"] == content_range


def test_an_unsatisfiable_range_is_416_and_a_malformed_one_ignored(client):
    refused = client.simulate_get("/blob", headers={"Range": "bytes=10-"})
    assert refused.status_code == 416 and refused.headers["Content-Range"] == "bytes */10"
    assert client.simulate_get("/blob", headers={"Range": "bytes=oops"}).content == DATA


def test_head_sends_the_length_and_no_body(client):
    answer = client.simulate_head("/blob")
    assert answer.status_code == 200 and answer.headers["Content-Length"] == "10" and answer.content == b""

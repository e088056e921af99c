"""KBase CachingService's /v1 API against live stacks on both blob backends."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid

import httpx
import pytest
from minio import Minio

from testkit.processes import ROOT, free_port, wait_until

ALICE = {"Authorization": "token-alice"}
BOB = {"Authorization": "token-bob"}
LIMIT = 4 * 1024 * 1024


@pytest.fixture(scope="module", params=["fs", "minio"])
def stack(request, stack_factory, kbase_auth):
    env = {"AUTH_MODE": "kbase", "KBASE_AUTH_URL": kbase_auth.url, "MAX_UPLOAD_BYTES": str(LIMIT)}
    if request.param == "minio":
        env.update(
            STORAGE="minio",
            MINIO_HOST=request.getfixturevalue("s3_server"),
            MINIO_ACCESS_KEY="testing",
            MINIO_SECRET_KEY="testing",
            MINIO_BUCKET_NAME=f"v1-{uuid.uuid4().hex[:10]}",
        )
    stack = stack_factory(**env)
    stack.backend = request.param
    return stack


def new_id(stack, headers=ALICE, params=None):
    response = httpx.post(
        stack.url + "/v1/cache_id", headers=headers, json=params if params is not None else {"job": uuid.uuid4().hex}
    )
    assert response.status_code == 200, response.text
    return response.json()["cache_id"]


def upload(stack, cache_id, data, headers=ALICE, filename="result.txt", content_type="text/plain", **kwargs):
    return httpx.post(
        f"{stack.url}/v1/cache/{cache_id}",
        headers=headers,
        files={"file": (filename, data, content_type)},
        timeout=60,
        **kwargs,
    )


def download(stack, cache_id, headers=ALICE, **kwargs):
    return httpx.get(f"{stack.url}/v1/cache/{cache_id}", headers=headers, timeout=60, **kwargs)


def error(response):
    body = response.json()
    assert body["status"] == "error"
    return body["error"]


def test_versions_and_routes(stack):
    assert "v1" in httpx.get(stack.url + "/").json()["versions"]
    routes = httpx.get(stack.url + "/v1").json()["routes"]
    assert routes["generate_cache_id"] == {"method": "POST", "path": "/v1/cache_id"}


def test_cache_id_is_kbases_and_ignores_key_order(stack, kbase_auth):
    params = {"method": "assemble", "params": {"k": 31, "contigs": ["a", "b"]}}
    response = httpx.post(stack.url + "/v1/cache_id", headers=ALICE, json=params).json()
    token_id = f"{kbase_auth.url}:alice"
    text = token_id + "\n" + json.dumps(params, sort_keys=True)
    assert response["cache_id"] == hashlib.blake2b(text.encode()).hexdigest()
    assert response["status"] == "ok"
    metadata = response["metadata"]
    assert (metadata["filename"], metadata["token_id"]) == ("placeholder", token_id)
    assert abs(int(metadata["expiration"]) - (time.time() + 7 * 86400)) < 60
    reordered = {"params": {"contigs": ["a", "b"], "k": 31}, "method": "assemble"}
    assert new_id(stack, params=reordered) == response["cache_id"]
    assert new_id(stack, headers=BOB, params=params) != response["cache_id"]


def test_upload_download_round_trip(stack):
    cache_id = new_id(stack)
    data = b"ACGT" * 5000
    stored = upload(stack, cache_id, data, filename="reads.fasta", content_type="text/x-fasta")
    assert stored.status_code == 200 and stored.json()["status"] == "ok"
    assert stored.json()["sha256"] == hashlib.sha256(data).hexdigest()

    got = download(stack, cache_id)
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"] == "text/x-fasta"
    assert got.headers["content-disposition"].startswith('attachment; filename="reads.fasta"')
    assert got.headers["cache-control"] == "no-cache"
    assert download(stack, cache_id, headers={**ALICE, "If-None-Match": got.headers["etag"]}).status_code == 304
    part = download(stack, cache_id, headers={**ALICE, "Range": "bytes=4-11"})
    assert part.status_code == 206 and part.content == data[4:12]
    head = httpx.head(f"{stack.url}/v1/cache/{cache_id}", headers=ALICE)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(data))


def test_cache_id_of_a_stored_file_returns_its_metadata(stack):
    params = {"job": uuid.uuid4().hex}
    cache_id = new_id(stack, params=params)
    upload(stack, cache_id, b"1", filename="out.bin")
    metadata = httpx.post(stack.url + "/v1/cache_id", headers=ALICE, json=params).json()["metadata"]
    assert metadata["filename"] == "out.bin"
    assert abs(int(metadata["expiration"]) - (time.time() + 30 * 86400)) < 60


def test_download_restarts_the_thirty_days(stack, redis):
    cache_id = new_id(stack)
    upload(stack, cache_id, b"x")
    key = f"{stack.env['REDIS_PREFIX']}file:{cache_id}"
    redis.hset(key, "expires_at", time.time() + 100)
    assert download(stack, cache_id).status_code == 200
    assert float(redis.hget(key, "expires_at")) > time.time() + 29 * 86400


def test_placeholder_and_unknown_ids_are_404(stack):
    assert error(download(stack, new_id(stack))) == "Cache ID not found"
    for cache_id in ("0" * 128, "nope", "..%2F..%2Fetc%2Fpasswd", "a" * 127 + "G"):
        response = download(stack, cache_id)
        assert response.status_code == 404 and response.json()["status"] == "error"


def test_missing_authorization_is_checked_first_everywhere(stack):
    cache_id = new_id(stack)
    calls = [
        httpx.post(stack.url + "/v1/cache_id", content=b"not json"),
        httpx.get(f"{stack.url}/v1/cache/{cache_id}"),
        httpx.post(f"{stack.url}/v1/cache/{cache_id}", content=b"x"),
        httpx.delete(f"{stack.url}/v1/cache/{cache_id}"),
    ]
    for response in calls:
        assert response.status_code == 400 and error(response) == "Missing header: Authorization"


def test_invalid_token_is_403(stack):
    response = httpx.post(stack.url + "/v1/cache_id", headers={"Authorization": "token-mallory"}, json={"a": 1})
    assert response.status_code == 403 and error(response) == "Invalid token"


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        (b'{"a": 1}', "text/plain", "Invalid Content-Type"),
        (b"{broken", "application/json", "JSON parsing error"),
        (b"", "application/json", "JSON parsing error"),
        (b"{}", "application/json", "JSON parsing error"),
        (b"[1, 2]", "application/json", "JSON parsing error"),
    ],
)
def test_bad_cache_id_requests_are_400(stack, content, content_type, message):
    response = httpx.post(stack.url + "/v1/cache_id", headers={**ALICE, "Content-Type": content_type}, content=content)
    assert response.status_code == 400 and error(response).startswith(message)


def test_upload_without_a_file_field(stack):
    cache_id = new_id(stack)
    response = httpx.post(
        f"{stack.url}/v1/cache/{cache_id}", headers=ALICE, data={"other": "1"}, files={"attachment": ("a.txt", b"1")}
    )
    assert response.status_code == 400 and "File field missing" in error(response)
    response = httpx.post(f"{stack.url}/v1/cache/{cache_id}", headers=ALICE, content=b"raw")
    assert response.status_code == 400 and "Content-Type" in error(response)


def test_other_tokens_cannot_touch_a_cache(stack):
    cache_id = new_id(stack)
    upload(stack, cache_id, b"alice's")
    for response in (
        download(stack, cache_id, headers=BOB),
        upload(stack, cache_id, b"bob's", headers=BOB),
        httpx.delete(f"{stack.url}/v1/cache/{cache_id}", headers=BOB),
    ):
        assert response.status_code == 403 and error(response) == "You do not have access to that cache"
    assert download(stack, cache_id).content == b"alice's"


def test_checksum_is_verified(stack):
    cache_id = new_id(stack)
    upload(stack, cache_id, b"first")
    wrong = upload(stack, cache_id, b"second", headers={**ALICE, "X-Content-SHA256": "0" * 64})
    assert wrong.status_code == 400 and "Checksum mismatch" in error(wrong)
    assert download(stack, cache_id).content == b"first"
    right = upload(
        stack, cache_id, b"second", headers={**ALICE, "X-Content-SHA256": hashlib.sha256(b"second").hexdigest()}
    )
    assert right.status_code == 200 and download(stack, cache_id).content == b"second"


def test_replacing_keeps_a_running_download_on_the_old_bytes(stack):
    cache_id = new_id(stack)
    old, new = b"o" * (3 * 1024 * 1024), b"n" * 1024
    upload(stack, cache_id, old)
    with httpx.stream("GET", f"{stack.url}/v1/cache/{cache_id}", headers=ALICE, timeout=60) as reading:
        chunks = reading.iter_bytes(65536)
        first = next(chunks)
        assert upload(stack, cache_id, new).status_code == 200
        assert first + b"".join(chunks) == old
    assert download(stack, cache_id).content == new


def test_filenames_are_sanitised(stack):
    cache_id = new_id(stack)
    upload(stack, cache_id, b"1", filename='../../evil"\r\nX-Injected: 1.txt')
    got = download(stack, cache_id)
    assert "x-injected" not in got.headers
    filename = re.fullmatch(r'attachment; filename="([^"]*)"; .*', got.headers["content-disposition"]).group(1)
    assert re.fullmatch(r"[A-Za-z0-9._-]+", filename) and not filename.startswith(".")


def test_delete(stack):
    cache_id = new_id(stack)
    upload(stack, cache_id, b"1")
    assert httpx.delete(f"{stack.url}/v1/cache/{cache_id}", headers=ALICE).json() == {"status": "ok"}
    assert download(stack, cache_id).status_code == 404
    assert httpx.delete(f"{stack.url}/v1/cache/{cache_id}", headers=ALICE).status_code == 404


def test_wrong_method_is_405_in_v1_shape(stack):
    response = httpx.put(f"{stack.url}/v1/cache/{new_id(stack)}", headers=ALICE)
    assert response.status_code == 405 and response.json()["status"] == "error"


def test_upload_over_the_limit_is_413_and_leaves_nothing(stack):
    cache_id = new_id(stack)
    upload(stack, cache_id, b"kept")
    too_big = upload(stack, cache_id, b"x" * (LIMIT + 1))
    assert too_big.status_code == 413
    assert download(stack, cache_id).content == b"kept"
    assert_no_stray_blobs(stack, cache_id)


def test_upload_without_a_length_is_411(stack):
    cache_id = new_id(stack)
    boundary = "b0undary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n'.encode(),
        b"y" * 1000,
        f"\r\n--{boundary}--\r\n".encode(),
    ]
    streamed = httpx.post(
        f"{stack.url}/v1/cache/{cache_id}",
        timeout=60,
        content=iter(parts),
        headers={**ALICE, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert streamed.status_code == 411 and "Content-Length" in error(streamed)
    assert download(stack, cache_id).status_code == 404


def test_interrupted_upload_leaves_no_partial_file(stack):
    cache_id = new_id(stack)
    upload(stack, cache_id, b"kept")
    boundary = "cut"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n').encode()
    request = (
        f"POST /v1/cache/{cache_id} HTTP/1.1\r\nHost: x\r\nAuthorization: token-alice\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 10000000\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", stack.port)) as conn:
        conn.sendall(request + head + b"z" * 500_000)
        time.sleep(0.5)
    time.sleep(1)
    assert download(stack, cache_id).content == b"kept"
    assert_no_stray_blobs(stack, cache_id)


def assert_no_stray_blobs(stack, cache_id):
    """The cache's one stored upload is its only blob: nothing partial, nothing orphaned."""
    folder = f"files/{cache_id[:2]}/{cache_id}/"
    if stack.backend == "fs":
        root = stack.workdir / "cache"
        assert list((root / ".tmp").iterdir()) == []
        assert len([p for p in (root / folder).iterdir() if not p.name.endswith(".meta")]) == 1
    else:
        client = Minio(stack.env["MINIO_HOST"], access_key="testing", secret_key="testing", secure=False)
        names = [
            o.object_name for o in client.list_objects(stack.env["MINIO_BUCKET_NAME"], prefix=folder, recursive=True)
        ]
        assert len(names) == 1
        uploads = client._list_multipart_uploads(stack.env["MINIO_BUCKET_NAME"])
        assert not list(uploads.uploads)


def test_auth_service_down_is_503(stack_factory):
    down = stack_factory(parts=("web",), AUTH_MODE="kbase", KBASE_AUTH_URL=f"http://127.0.0.1:{free_port()}")
    response = httpx.post(down.url + "/v1/cache_id", headers=ALICE, json={"a": 1})
    assert response.status_code == 503
    assert "Authentication service unavailable" in error(response)


def test_expire_all_deletes_expired_caches_now(stack, stack_factory, redis):
    env = {name: value for name, value in stack.env.items() if name != "REDIS_PREFIX"}
    stack = stack_factory(parts=("web",), **env)  # no maintenance process to get there first
    cache_id = new_id(stack)
    upload(stack, cache_id, b"old result")
    prefix = stack.env["REDIS_PREFIX"]
    blob_key = redis.hget(f"{prefix}file:{cache_id}", "blob_key")
    redis.hset(f"{prefix}file:{cache_id}", "expires_at", 1)
    redis.zadd(f"{prefix}files:expiry", {cache_id: 1})
    result = subprocess.run(
        [sys.executable, "-m", "imagecache.cli", "admin", "expire_all"],
        cwd=ROOT,
        env={**os.environ, **stack.env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "removed 1 of 1 caches\n"
    assert download(stack, cache_id).status_code == 404
    if "STORAGE" not in env:
        assert not (stack.workdir / "cache" / blob_key).exists()


def test_expiry_runs_in_maintenance(stack, redis):
    cache_id = new_id(stack)
    prefix = stack.env["REDIS_PREFIX"]
    redis.hset(f"{prefix}file:{cache_id}", "expires_at", 1)
    redis.zadd(f"{prefix}files:expiry", {cache_id: 1})
    wait_until(lambda: not redis.exists(f"{prefix}file:{cache_id}"), 10, "maintenance to prune the placeholder")


def test_an_upload_without_its_closing_boundary_leaves_no_blob(stack):
    """The parser ends the part at the end of the body; the store must still keep nothing (S3: no open upload)."""
    cache_id = new_id(stack)
    upload(stack, cache_id, b"kept")
    boundary = "nocl0se"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n').encode()
    body += b"q" * 200_000
    response = httpx.post(
        f"{stack.url}/v1/cache/{cache_id}",
        content=body,
        timeout=60,
        headers={**ALICE, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 400 and "closing boundary" in error(response)
    assert download(stack, cache_id).content == b"kept"
    assert_no_stray_blobs(stack, cache_id)


def test_an_empty_file_is_an_ordinary_file(stack):
    cache_id = new_id(stack)
    for data in (b"", b"", b"some bytes", b""):
        assert upload(stack, cache_id, data).json()["size"] == len(data)
        assert download(stack, cache_id).content == data
    assert httpx.delete(f"{stack.url}/v1/cache/{cache_id}", headers=ALICE).status_code == 200
    assert download(stack, cache_id).status_code == 404

"""`imagecache admin`: tokens for static auth, and importing a KBase bucket in place."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import time
import uuid

import httpx
from minio import Minio

from imagecache.domain.file_record import cache_id_for
from testkit.processes import ROOT


def admin(env, *args):
    result = subprocess.run(
        [sys.executable, "-m", "imagecache.cli", "admin", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_add_token_gives_a_working_static_token(stack_factory, tmp_path):
    env = {"AUTH_MODE": "static", "AUTH_TOKENS_FILE": str(tmp_path / "tokens")}
    token = admin(env, "add-token", "carol")
    assert token not in (tmp_path / "tokens").read_text()
    stack = stack_factory(parts=("web",), **env)
    answer = httpx.post(stack.url + "/v1/cache_id", headers={"Authorization": token}, json={"a": 1}).json()
    assert answer["metadata"]["token_id"] == "static:carol"
    assert (
        httpx.post(stack.url + "/v1/cache_id", headers={"Authorization": token + "x"}, json={"a": 1}).status_code == 403
    )


def test_import_kbase_serves_existing_objects_without_copying(stack_factory, s3_server, kbase_auth):
    bucket = f"kbase-{uuid.uuid4().hex[:8]}"
    client = Minio(s3_server, access_key="testing", secret_key="testing", secure=False)
    client.make_bucket(bucket)
    token_id = f"{kbase_auth.url}:alice"
    stored_id = cache_id_for(token_id, {"method": "annotate", "genome": "E. coli"})
    waiting_id = cache_id_for(token_id, {"method": "annotate", "genome": "B. subtilis"})
    future = str(int(time.time()) + 86400)
    client.put_object(
        bucket,
        stored_id,
        io.BytesIO(b"GFF data"),
        8,
        content_type="text/plain",
        metadata={"filename": "genes.gff", "token_id": token_id, "expiration": future},
    )
    client.put_object(
        bucket,
        waiting_id,
        io.BytesIO(b""),
        0,
        metadata={"filename": "placeholder", "token_id": token_id, "expiration": future},
    )
    client.put_object(bucket, "not-a-cache-id", io.BytesIO(b"x"), 1)

    env = {
        "STORAGE": "minio",
        "MINIO_HOST": s3_server,
        "MINIO_ACCESS_KEY": "testing",
        "MINIO_SECRET_KEY": "testing",
        "MINIO_BUCKET_NAME": bucket,
        "AUTH_MODE": "kbase",
        "KBASE_AUTH_URL": kbase_auth.url,
    }
    stack = stack_factory(parts=("web",), **env)
    env["REDIS_PREFIX"] = stack.env["REDIS_PREFIX"]
    env["REDIS_URL"] = stack.env["REDIS_URL"]
    assert admin(env, "import-kbase") == "indexed 2 of 2 KBase caches"
    assert admin(env, "import-kbase") == "indexed 0 of 2 KBase caches"  # already indexed

    alice = {"Authorization": "token-alice"}
    got = httpx.get(f"{stack.url}/v1/cache/{stored_id}", headers=alice)
    assert got.status_code == 200 and got.content == b"GFF data"
    assert got.headers["etag"] == f'"{hashlib.sha256(b"GFF data").hexdigest()}"'  # not S3's MD5: clients check it
    assert 'filename="genes.gff"' in got.headers["content-disposition"]
    assert httpx.get(f"{stack.url}/v1/cache/{stored_id}", headers={"Authorization": "token-bob"}).status_code == 403
    assert httpx.get(f"{stack.url}/v1/cache/{waiting_id}", headers=alice).status_code == 404
    answer = httpx.post(stack.url + "/v1/cache_id", headers=alice, json={"method": "annotate", "genome": "E. coli"})
    assert answer.json()["cache_id"] == stored_id and answer.json()["metadata"]["filename"] == "genes.gff"
    assert sorted(o.object_name for o in client.list_objects(bucket)) == sorted(
        [stored_id, waiting_id, "not-a-cache-id"]
    )

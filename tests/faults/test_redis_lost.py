"""Redis comes back empty: `imagecache admin reindex` serves every stored result again."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from imagecache.auth.static_tokens import StaticTokens
from testkit.processes import ROOT, wait_until
from testkit.redis_server import OwnRedis
from testkit.upstream import make_query, simulate


@pytest.mark.parametrize("backend", ["fs", "minio"])
def test_reindex_rebuilds_images_and_files_from_storage(stack_factory, simulator, tmp_path, request, backend):
    redis = OwnRedis(tmp_path / "redis", appendonly=False).start()
    tokens = tmp_path / "tokens"
    alice, bob = StaticTokens(tokens).add("alice"), StaticTokens(tokens).add("bob")
    env = {"REDIS_URL": redis.url, "AUTH_MODE": "static", "AUTH_TOKENS_FILE": str(tokens)}
    if backend == "minio":
        env.update(
            STORAGE="minio",
            MINIO_HOST=request.getfixturevalue("s3_server"),
            MINIO_ACCESS_KEY="testing",
            MINIO_SECRET_KEY="testing",
            MINIO_BUCKET_NAME=f"lost-{uuid.uuid4().hex[:8]}",
        )
    try:
        stack = stack_factory(**env)
        simulate(simulator)
        images = {}
        for kind in ("png", "svg"):
            query = make_query(kind)
            entry_id = stack.request(query)["id"]
            got = httpx.get(f"{stack.url}/image/{entry_id}", timeout=30)
            images[entry_id] = (query, got.content, got.headers["content-type"])
        auth = {"Authorization": alice}
        cache_id = httpx.post(stack.url + "/v1/cache_id", headers=auth, json={"job": 1}).json()["cache_id"]
        httpx.post(
            f"{stack.url}/v1/cache/{cache_id}", headers=auth, files={"file": ("genes.gff", b"GFF" * 1000, "text/x-gff")}
        ).raise_for_status()
        simulate(simulator, latency_ms=10_000)  # still pending when Redis goes
        pending = stack.request(make_query())["id"]

        redis.stop()
        redis.start()  # no persistence: empty
        wait_until(lambda: httpx.get(stack.url + "/health").status_code == 200, 20, "Redis to answer again")
        started = time.monotonic()
        assert httpx.get(f"{stack.url}/image/{pending}", timeout=30).status_code == 404
        assert time.monotonic() - started < 1
        stack.parts["maintenance"].stop()
        maintenance = stack.start_part("maintenance")
        wait_until(lambda: "Redis is empty but storage holds results" in maintenance.log(), 10, "the warning")

        result = subprocess.run(
            [sys.executable, "-m", "imagecache.cli", "admin", "reindex"],
            cwd=ROOT,
            env={**os.environ, **stack.env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("reindexed 2 images and 1 files")

        for entry_id, (query, content, content_type) in images.items():
            got = httpx.get(f"{stack.url}/image/{entry_id}", timeout=30)
            assert (got.status_code, got.content, got.headers["content-type"]) == (200, content, content_type)
            assert got.headers["etag"] == f'"{hashlib.sha256(content).hexdigest()}"'  # what clients check bytes by
            again = stack.request(query)
            assert again == {"id": entry_id, "status": "active", "expires_at": again["expires_at"]}
            assert httpx.get(f"{stack.url}/requests/{entry_id}").json()["job"] == "kentik"  # kept in its metadata
        got = httpx.get(f"{stack.url}/v1/cache/{cache_id}", headers=auth)
        assert got.status_code == 200 and got.content == b"GFF" * 1000
        assert got.headers["etag"] == f'"{hashlib.sha256(b"GFF" * 1000).hexdigest()}"'
        assert (
            got.headers["content-type"] == "text/x-gff" and 'filename="genes.gff"' in got.headers["content-disposition"]
        )
        assert httpx.get(f"{stack.url}/v1/cache/{cache_id}", headers={"Authorization": bob}).status_code == 403
        assert stack.info()["active_count"] == 2
        stack.parts["worker"].kill()  # no need to wait for its fetch of the lost entry
    finally:
        redis.stop()

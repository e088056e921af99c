"""AssetCache against moto's S3 server: any object cached locally, revalidated by ETag once old, never for an
immutable bucket, served from here with a warning when the store is away."""

from __future__ import annotations

import io
import logging
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from minio import Minio

from imagecache_client import AssetCache, AssetConfig, NoLocalCopy, NotFound
from testkit.processes import free_port


@pytest.fixture
def store(s3_server):
    """(the S3 client, a bucket of this test's own)."""
    client = Minio(s3_server, access_key="testing", secret_key="testing", secure=False)
    bucket = f"assets-{uuid.uuid4().hex[:8]}"
    client.make_bucket(bucket)
    return client, bucket


def put(store, key: str, data: bytes) -> str:
    client, bucket = store
    client.put_object(bucket, key, io.BytesIO(data), len(data))
    return f"s3://{bucket}/{key}"


def assets(s3_server, tmp_path, **settings) -> AssetCache:
    environ = {"MINIO_HOST": s3_server, "MINIO_ACCESS_KEY": "testing", "MINIO_SECRET_KEY": "testing"}
    return AssetCache(AssetConfig.from_env(environ, cache_dir=tmp_path / "local", **settings))


def test_a_miss_downloads_and_later_calls_return_the_same_path_without_asking(s3_server, store, tmp_path):
    url = put(store, "refs/genome.fa", b">chr1\nACGT\n" * 1000)
    cache = assets(s3_server, tmp_path)
    path = cache.cache(url)
    assert path.read_bytes() == b">chr1\nACGT\n" * 1000 and cache.local.holds(path)
    store[0].remove_object(store[1], "refs/genome.fa")  # within revalidate_after the store is not asked
    assert cache.cache(url) == path


def test_an_old_copy_is_downloaded_again_only_when_its_etag_changed(s3_server, store, tmp_path):
    url = put(store, "table.csv", b"a,b\n1,2\n")
    cache = assets(s3_server, tmp_path, revalidate_after=0)
    first = cache.cache(url)
    assert cache.cache(url) == first  # same ETag: the copy is confirmed, not downloaded
    put(store, "table.csv", b"a,b\n3,4\n")
    again = cache.cache(url)
    assert again != first and again.read_bytes() == b"a,b\n3,4\n"


def test_an_immutable_bucket_is_never_revalidated(s3_server, store, tmp_path):
    url = put(store, "v1/model.bin", b"weights")
    cache = assets(s3_server, tmp_path, revalidate_after=0, immutable_buckets=frozenset({store[1]}))
    first = cache.cache(url)
    put(store, "v1/model.bin", b"changed behind its back")
    assert cache.cache(url) == first and first.read_bytes() == b"weights"


def test_a_local_path_is_returned_as_it_is_and_caching_a_cached_path_is_harmless(s3_server, store, tmp_path):
    cache = assets(s3_server, tmp_path)
    mine = tmp_path / "mine.txt"
    assert cache.cache(mine) == mine and cache.cache(str(mine)) == mine
    path = cache.cache(put(store, "x.txt", b"x"))
    assert cache.cache(cache.cache(path)) == path


def test_a_missing_object_is_not_found(s3_server, store, tmp_path):
    with pytest.raises(NotFound):
        assets(s3_server, tmp_path).cache(f"s3://{store[1]}/nothing-here")


def test_with_the_store_away_a_copy_is_used_with_a_warning_and_none_is_a_typed_error(
    s3_server, store, tmp_path, caplog
):
    url = put(store, "kept.txt", b"kept")
    path = assets(s3_server, tmp_path).cache(url)
    away = assets(f"127.0.0.1:{free_port()}", tmp_path, revalidate_after=0)  # the same local cache, no store
    with caplog.at_level(logging.WARNING, logger="imagecache.client"):
        assert away.cache(url) == path
    assert "local copy" in caplog.text
    with pytest.raises(NoLocalCopy, match="no copy of"):
        away.cache(f"s3://{store[1]}/never-cached.txt")


def test_concurrent_callers_of_one_object_download_it_once(s3_server, store, tmp_path):
    url = put(store, "shared/big.bin", os.urandom(3 * 1024 * 1024))
    cache = assets(s3_server, tmp_path)
    start = threading.Barrier(8)

    def fetch(_: int):
        start.wait()
        return cache.fetched(url)

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(fetch, range(8)))
    assert sorted(fetched.from_cache for fetched in got) == [False] + [True] * 7
    assert len({fetched.path for fetched in got}) == 1
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("blob-hash")]

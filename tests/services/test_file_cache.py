import hashlib
import io
import json

import pytest

from imagecache.blobs.filesystem import FilesystemBlobStore
from imagecache.domain.errors import CacheForbidden, CacheNotFound, ChecksumMismatch, UploadTooLarge
from imagecache.domain.file_record import cache_id_for, is_cache_id
from imagecache.domain.identity import Identity
from imagecache.index.entry_index import RedisEntryIndex
from imagecache.index.file_index import RedisFileIndex
from imagecache.index.garbage import RedisBlobGarbage
from imagecache.index.recency import RedisRecency
from imagecache.services.capacity import Capacity
from imagecache.services.file_cache import FILE_TTL, PLACEHOLDER_TTL, FileCache
from imagecache.services.item_sweep import ItemSweep

NOW = 1_800_000_000.0
ALICE = Identity("alice", "https://auth.example/services/auth:alice")
BOB = Identity("bob", "https://auth.example/services/auth:bob")


@pytest.fixture
def clock():
    return {"now": NOW}


@pytest.fixture
def files(redis, prefix, tmp_path, clock):
    garbage = RedisBlobGarbage(redis, prefix)
    index = RedisFileIndex(redis, prefix)
    capacity = Capacity(
        RedisRecency(redis, prefix),
        RedisEntryIndex(redis, prefix),
        index,
        max_bytes=0,
        sweep=ItemSweep(lambda: None),
    )
    return FileCache(
        index,
        FilesystemBlobStore(tmp_path),
        capacity,
        max_upload_bytes=1000,
        garbage=garbage,
        clock=lambda: clock["now"],
    )


def upload(files, record, data=b"data", sha=None):
    return files.store(record, io.BytesIO(data), filename="f.txt", content_type="text/plain", expected_sha256=sha)


def test_cache_id_is_kbases_blake2b():
    params = {"method": "m", "params": {"b": 2, "a": 1}}
    text = ALICE.token_id + "\n" + json.dumps(params, sort_keys=True)
    assert cache_id_for(ALICE.token_id, params) == hashlib.blake2b(text.encode()).hexdigest()
    assert cache_id_for(ALICE.token_id, {"params": {"a": 1, "b": 2}, "method": "m"}) == cache_id_for(
        ALICE.token_id, params
    )
    assert cache_id_for(BOB.token_id, params) != cache_id_for(ALICE.token_id, params)
    assert is_cache_id(cache_id_for(ALICE.token_id, params))
    assert not is_cache_id("../" + "a" * 125)


def test_new_id_is_a_placeholder_for_seven_days(files):
    record = files.cache_id(ALICE, {"x": 1})
    assert (record.filename, record.placeholder, record.expires_at) == ("placeholder", True, NOW + PLACEHOLDER_TTL)
    with pytest.raises(CacheNotFound):
        files.download(ALICE, record.cache_id)


def test_upload_then_download_restarts_thirty_days(files, clock):
    record = upload(files, files.cache_id(ALICE, {"x": 1}))
    assert (record.size, record.etag) == (4, hashlib.sha256(b"data").hexdigest())
    clock["now"] = NOW + 10 * 86400
    assert files.download(ALICE, record.cache_id).filename == "f.txt"
    assert files.owned(ALICE, record.cache_id).expires_at == clock["now"] + FILE_TTL
    assert files.cache_id(ALICE, {"x": 1}).filename == "f.txt"


def test_other_tokens_are_refused_everywhere(files):
    record = upload(files, files.cache_id(ALICE, {"x": 1}))
    for attempt in (
        lambda: files.download(BOB, record.cache_id),
        lambda: files.owned(BOB, record.cache_id),
        lambda: files.delete(BOB, record.cache_id),
    ):
        with pytest.raises(CacheForbidden):
            attempt()
    assert files.download(ALICE, record.cache_id).size == 4


def test_checksum_mismatch_stores_nothing(files, tmp_path):
    record = upload(files, files.cache_id(ALICE, {"x": 1}), b"old")
    with pytest.raises(ChecksumMismatch):
        upload(files, record, b"new", sha="0" * 64)
    assert files.open(files.download(ALICE, record.cache_id)).read() == b"old"
    blobs = [p for p in (tmp_path / "files").rglob("*") if p.is_file() and not p.name.endswith(".meta")]
    assert len(blobs) == 1  # the rejected upload left nothing


def test_upload_over_the_limit_leaves_nothing(files, tmp_path):
    record = files.cache_id(ALICE, {"x": 1})
    with pytest.raises(UploadTooLarge):
        upload(files, record, b"x" * 1001)
    assert not (tmp_path / "files").exists() and list((tmp_path / ".tmp").iterdir()) == []


def test_replace_queues_the_old_blob_with_a_grace_period(files, redis, prefix):
    record = files.cache_id(ALICE, {"x": 1})
    first = upload(files, record, b"one")
    upload(files, record, b"two")
    garbage = RedisBlobGarbage(redis, prefix)
    assert garbage.due(NOW) == []
    assert garbage.due(NOW + 601) == [first.blob_key]


def test_expired_caches_are_pruned(files, clock, redis, prefix):
    record = upload(files, files.cache_id(ALICE, {"x": 1}))
    files.cache_id(ALICE, {"y": 2})
    clock["now"] = NOW + FILE_TTL + 1
    assert sum(files.remove_expired(cache_id) for cache_id in files.expired()) == 2
    assert files.count() == 0
    assert RedisBlobGarbage(redis, prefix).due(clock["now"]) == [record.blob_key]
    with pytest.raises(CacheNotFound):
        files.owned(ALICE, record.cache_id)


def test_delete_forgets_the_cache(files):
    record = upload(files, files.cache_id(ALICE, {"x": 1}))
    files.delete(ALICE, record.cache_id)
    with pytest.raises(CacheNotFound):
        files.download(ALICE, record.cache_id)

"""CACHE_MAX_BYTES: least recently used results go first, images and files alike."""

import io

import pytest

from imagecache.blobs.filesystem import FilesystemBlobStore
from imagecache.domain.errors import CannotFit
from imagecache.domain.identity import Identity
from imagecache.index.entry_index import RedisEntryIndex
from imagecache.index.file_index import RedisFileIndex
from imagecache.index.garbage import RedisBlobGarbage
from imagecache.index.recency import RedisRecency
from imagecache.services.capacity import Capacity
from imagecache.services.file_cache import FileCache
from imagecache.services.item_sweep import ItemSweep
from testkit.index import activate, new_pending

NOW = 1_800_000_000.0
ALICE = Identity("alice", "static:alice")


@pytest.fixture
def parts(redis, prefix, tmp_path):
    garbage = RedisBlobGarbage(redis, prefix)
    entries = RedisEntryIndex(redis, prefix)
    index = RedisFileIndex(redis, prefix)
    capacity = Capacity(
        RedisRecency(redis, prefix), entries, index, max_bytes=1000, sweep=ItemSweep(lambda: None), clock=lambda: NOW
    )
    files = FileCache(index, FilesystemBlobStore(tmp_path), capacity, 10_000, garbage=garbage, clock=lambda: NOW)
    return entries, files, capacity


def image(entries, n, size, at):
    entry_id = new_pending(entries, f"{n:064x}", now=at, expires_at=NOW + 1000)
    activate(entries, entry_id, now=at, size=size)
    return entry_id


def test_usage_counts_images_and_files(parts):
    entries, files, capacity = parts
    image(entries, 1, 300, NOW)
    files.store(
        files.cache_id(ALICE, {"a": 1}),
        io.BytesIO(b"x" * 200),
        filename="f",
        content_type="text/plain",
        expected_sha256=None,
    )
    assert capacity.used() == 500


def test_least_recently_used_go_first_until_under_the_bound(parts):
    entries, files, capacity = parts
    old = image(entries, 1, 400, NOW - 30)
    used = image(entries, 2, 400, NOW - 20)
    young = image(entries, 3, 400, NOW - 10)
    entries.touch(used, NOW - 5)  # served recently: now the youngest
    assert capacity.enforce() == 1
    assert entries.get(old) is None
    assert entries.get(used) is not None and entries.get(young) is not None
    assert capacity.used() == 800


def test_a_file_upload_makes_room_by_evicting_images(parts):
    entries, files, capacity = parts
    first = image(entries, 1, 500, NOW - 30)
    second = image(entries, 2, 400, NOW - 20)
    files.store(
        files.cache_id(ALICE, {"a": 1}),
        io.BytesIO(b"x" * 300),
        filename="f",
        content_type="text/plain",
        expected_sha256=None,
    )
    assert entries.get(first) is None and entries.get(second) is not None
    assert capacity.used() == 700


def test_what_can_never_fit_is_refused(parts):
    entries, files, capacity = parts
    record = files.cache_id(ALICE, {"a": 1})
    with pytest.raises(CannotFit):
        files.store(record, io.BytesIO(b"x" * 1001), filename="f", content_type="text/plain", expected_sha256=None)
    with pytest.raises(CannotFit):
        files.store(
            record, io.BytesIO(b"x"), filename="f", content_type="text/plain", expected_sha256=None, size_hint=5000
        )
    assert capacity.used() == 0


def test_unbounded_by_default(redis, prefix):
    entries = RedisEntryIndex(redis, prefix)
    capacity = Capacity(
        RedisRecency(redis, prefix),
        entries,
        RedisFileIndex(redis, prefix),
        max_bytes=0,
        sweep=ItemSweep(lambda: None),
    )
    image(entries, 1, 10**9, NOW)
    assert capacity.fits(10**12) and capacity.enforce() == 0

"""Reindexing a copy of the filesystem store: what the copy kept decides what comes back."""

import io
import logging
import shutil

import pytest

from imagecache.blobs.filesystem import FilesystemBlobStore
from imagecache.domain.blob_metadata import image_metadata
from imagecache.domain.entry_record import RESULTS, EntryRecord
from imagecache.index.entry_index import RedisEntryIndex
from imagecache.index.file_index import RedisFileIndex
from imagecache.index.garbage import RedisBlobGarbage
from imagecache.services.reindex import Reindexer
from testkit.index import new_pending

NOW = 1_800_000_000.0


@pytest.fixture
def stored(entries, tmp_path):
    """A store as the cache makes one, holding one result."""
    store = FilesystemBlobStore(tmp_path / "store", reproducible=(RESULTS,))
    entry_id = new_pending(entries, "1" * 64, now=NOW, expires_at=NOW + 3600)
    entry = entries.get(entry_id)
    store.put(EntryRecord.attempt_key(entry_id), io.BytesIO(b"png"), "image/png", image_metadata(entry, NOW))
    return store


def reindex(store, redis, prefix):
    """Into an index of its own, empty as a Redis that lost its data (under the test's prefix: cleaned up)."""
    prefix += "copy:"
    entries = RedisEntryIndex(redis, prefix)
    return Reindexer(entries, RedisFileIndex(redis, prefix), store, RedisBlobGarbage(redis, prefix), lambda: NOW).run()


def test_a_copy_that_kept_attributes_is_reindexed_whole(stored, redis, prefix, tmp_path):
    shutil.copytree(stored.root, tmp_path / "copy")  # copy2: the attributes too, as rsync -aX does
    report = reindex(FilesystemBlobStore(tmp_path / "copy", reproducible=(RESULTS,)), redis, prefix)
    assert (report.images, report.unknown) == (1, 0)


def test_a_copy_that_dropped_attributes_is_counted_and_named(stored, redis, prefix, tmp_path, caplog):
    """What `cp -r` or `rsync -a` makes of a result: its bytes without its metadata. Nothing is indexed from it
    or thrown away, and the log says why and what to do."""
    shutil.copytree(stored.root, tmp_path / "copy", copy_function=shutil.copy)  # bytes and mode only
    with caplog.at_level(logging.WARNING, logger="imagecache.services.reindex"):
        report = reindex(FilesystemBlobStore(tmp_path / "copy", reproducible=(RESULTS,)), redis, prefix)
    assert (report.images, report.unknown) == (0, 1)
    assert "rsync -aX" in caplog.text and "1 blobs carry no imagecache metadata" in caplog.text
    assert [blob.key for blob in FilesystemBlobStore(tmp_path / "copy").blobs()] == [next(iter(stored.blobs())).key]


def test_metadata_that_is_not_ours_is_counted_and_the_rest_reindexed(stored, entries, redis, prefix):
    """A file's sidecar without its owner, an image's time that is no number: each is one unknown blob, and the
    reindex goes on."""
    stored.put("files/ab/x/1", io.BytesIO(b"1"), "text/plain", {"kind": "file", "cache_id": "x"})
    other = entries.get(new_pending(entries, "2" * 64, now=NOW, expires_at=NOW + 3600))
    garbled = {**image_metadata(other, NOW), "created_at": "soon"}
    stored.put(EntryRecord.attempt_key(other.id), io.BytesIO(b"png"), "image/png", garbled)
    report = reindex(stored, redis, prefix)
    assert (report.images, report.files, report.unknown) == (1, 0, 2)

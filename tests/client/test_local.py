"""The local cache on a real filesystem: content-addressed blobs, records, LRU, healing, many processes."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imagecache_client.local import LocalCache
from testkit.processes import ROOT

SERVER = "http://cache.example"


def digest(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def put_image(cache: LocalCache, n: int, data: bytes, expires_in: float = 600) -> str:
    entry_id = f"{digest(n)}_{time.time() + expires_in:.6f}"
    with cache.writer() as writer:
        writer.write(data)
        cache.store_image(SERVER, entry_id, time.time(), "image/png", writer)
    return entry_id


def blob_files(cache: LocalCache) -> list[Path]:
    return [path for path in (cache.root / "blobs").rglob("*") if path.is_file()]


def test_images_are_stored_by_content_and_found_by_id_and_query(tmp_path):
    cache = LocalCache(tmp_path)
    entry_id = put_image(cache, 1, b"chart")
    by_id = cache.image(SERVER, entry_id)
    assert by_id is not None and by_id.path.read_bytes() == b"chart"
    assert by_id.path.name == hashlib.sha256(b"chart").hexdigest()
    assert cache.image_for_query(SERVER, digest(1)) == by_id
    assert cache.image_for_query("http://other.example", digest(1)) is None
    assert cache.image_for_query(SERVER, digest(2)) is None


def test_the_same_content_is_one_blob(tmp_path):
    cache = LocalCache(tmp_path)
    put_image(cache, 1, b"same bytes")
    put_image(cache, 2, b"same bytes")
    assert len(blob_files(cache)) == 1
    assert cache.used_bytes() == len(b"same bytes")


def test_expired_images_are_never_served_and_gc_removes_them(tmp_path):
    cache = LocalCache(tmp_path, keep_recent=0)
    entry_id = put_image(cache, 1, b"old", expires_in=0.2)
    time.sleep(0.3)
    assert cache.image(SERVER, entry_id) is None
    assert cache.image_for_query(SERVER, digest(1)) is None
    done = cache.collect()
    assert done.expired == 1 and done.bytes_freed == 3
    assert blob_files(cache) == [] and cache.used_bytes() == 0


def test_max_age_measures_from_when_the_server_produced_it(tmp_path):
    cache = LocalCache(tmp_path)
    entry_id = f"{digest(1)}_{time.time() + 600:.6f}"
    with cache.writer() as writer:
        writer.write(b"produced two minutes before it was downloaded")
        cache.store_image(SERVER, entry_id, time.time() - 120, "image/png", writer)
    assert cache.image_for_query(SERVER, digest(1), max_age=60) is None
    assert cache.image_for_query(SERVER, digest(1), max_age=180) is not None
    assert cache.image_for_query(SERVER, digest(1)) is not None


def test_least_recently_used_blobs_go_first_beyond_max_bytes(tmp_path):
    cache = LocalCache(tmp_path, max_bytes=250, keep_recent=0)
    first, second = put_image(cache, 1, b"a" * 100), put_image(cache, 2, b"b" * 100)
    assert cache.image(SERVER, first) is not None  # first is now the most recently used
    third = put_image(cache, 3, b"c" * 100)
    assert cache.image(SERVER, second) is None
    assert cache.image(SERVER, first) is not None and cache.image(SERVER, third) is not None
    assert cache.used_bytes() == 200 and len(blob_files(cache)) == 2


def test_paths_just_handed_out_outlive_the_bound_for_a_moment(tmp_path):
    cache = LocalCache(tmp_path, max_bytes=150, keep_recent=0.5)
    first, second = put_image(cache, 1, b"a" * 100), put_image(cache, 2, b"b" * 100)
    assert cache.image(SERVER, first) is not None and cache.used_bytes() == 200
    time.sleep(0.6)
    put_image(cache, 3, b"c" * 100)
    assert cache.image(SERVER, first) is None and cache.image(SERVER, second) is None
    assert cache.used_bytes() == 100


def test_a_blob_larger_than_the_bound_is_still_handed_out(tmp_path):
    cache = LocalCache(tmp_path, max_bytes=10, keep_recent=0)
    small = put_image(cache, 1, b"x" * 5)
    big = put_image(cache, 2, b"y" * 50)
    assert cache.image(SERVER, big).path.read_bytes() == b"y" * 50
    assert cache.image(SERVER, small) is None


def test_a_record_whose_blob_vanished_is_dropped_not_served(tmp_path):
    cache = LocalCache(tmp_path)
    entry_id = put_image(cache, 1, b"soon gone")
    cache.image(SERVER, entry_id).path.unlink()
    assert cache.image(SERVER, entry_id) is None
    assert cache.used_bytes() == 0 and cache.listing() == []


def test_gc_removes_orphan_blobs_and_dead_temp_files(tmp_path):
    cache = LocalCache(tmp_path)
    orphan = cache.blob_path(digest(9))
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left by a process that died before committing")
    old = time.time() - 2 * 3600
    dead = cache.root / "tmp" / "999999999-abandoned.part"  # its process is gone
    stalled = cache.temp_path()  # this (live) process's: a producer may take hours
    for path in (dead, stalled):
        path.write_bytes(b"half a download")
        os.utime(path, (old, old))
    fresh = cache.root / "tmp" / "999999999-recent.part"
    fresh.write_bytes(b"written a moment ago")
    kept = put_image(cache, 1, b"keep me")
    done = cache.collect()
    assert (done.orphans, done.temp_files) == (1, 1)
    assert not orphan.exists() and not dead.exists() and stalled.exists() and fresh.exists()
    assert cache.image(SERVER, kept) is not None


def test_files_replace_their_blob_and_forgetting_frees_it(tmp_path):
    cache = LocalCache(tmp_path, keep_recent=0)
    for content in (b"version 1", b"version 2"):
        with cache.writer() as writer:
            writer.write(content)
            stored = cache.store_file(SERVER, "owner", "cid", '"etag"', "out.txt", "text/plain", writer)
    assert cache.file(SERVER, "owner", "cid").path.read_bytes() == b"version 2"
    assert cache.file(SERVER, "another token", "cid") is None
    assert [p.read_bytes() for p in blob_files(cache)] == [b"version 2"]
    cache.forget_file(SERVER, "owner", "cid")
    assert cache.file(SERVER, "owner", "cid") is None and blob_files(cache) == [] and cache.used_bytes() == 0
    assert stored.filename == "out.txt"


def test_a_blob_just_handed_out_outlives_its_replacement_for_a_moment(tmp_path):
    cache = LocalCache(tmp_path, keep_recent=0.5)
    held = []
    for content in (b"version 1", b"version 2"):
        with cache.writer() as writer:
            writer.write(content)
            held.append(cache.store_file(SERVER, "owner", "cid", '"e"', "f", "text/plain", writer).path)
    assert held[0].read_bytes() == b"version 1"  # replaced, but its path was just handed out
    cache.forget_file(SERVER, "owner", "cid")
    assert held[1].exists()
    time.sleep(0.6)
    cache.evict()
    assert not held[0].exists() and not held[1].exists() and cache.used_bytes() == 0


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_a_producer_output_that_is_a_link_is_copied_not_taken(tmp_path, link):
    cache = LocalCache(tmp_path / "cache")
    users_file = tmp_path / "mine.txt"
    users_file.write_text("the user's own file")
    output = cache.temp_path()
    if link == "symlink":
        output.symlink_to(users_file)
    else:
        os.link(users_file, output)
    with cache.writer(existing=output) as blob:
        stored = cache.store_file(SERVER, "owner", "cid", '"e"', "f", "text/plain", blob)
    users_file.write_text("changed later by its owner")
    assert stored.path.read_text() == "the user's own file"
    assert users_file.stat().st_mode & 0o222  # still writable: not chmodded as a blob


def test_an_unfinished_writer_leaves_nothing(tmp_path):
    cache = LocalCache(tmp_path)
    with pytest.raises(RuntimeError), cache.writer() as writer:
        writer.write(b"partial")
        raise RuntimeError("download cut off")
    assert list((cache.root / "tmp").iterdir()) == [] and blob_files(cache) == []


def test_clear_removes_everything(tmp_path):
    cache = LocalCache(tmp_path)
    put_image(cache, 1, b"one")
    put_image(cache, 2, b"two")
    cache.remember_cache_id(SERVER, "key", "cid")
    assert cache.clear() == 2
    assert blob_files(cache) == [] and cache.listing() == [] and cache.used_bytes() == 0
    assert cache.cache_id(SERVER, "key") is None


FILLER = """
import hashlib, sys, time
from imagecache_client.local import LocalCache
cache = LocalCache(sys.argv[1], max_bytes=int(sys.argv[2]), keep_recent=float(sys.argv[3]))
for n in range(40):
    data = (b"%d" % (n % 25)) * 1000
    entry_id = hashlib.sha256(b"%d" % n).hexdigest() + "_9999999999"
    with cache.writer() as writer:
        writer.write(data)
        cache.store_image("s", entry_id, time.time(), "image/png", writer)
    got = cache.image("s", entry_id)
    assert got.path.read_bytes() == data  # just stored: kept for keep_recent whatever the others evict
"""


@pytest.mark.parametrize("max_bytes", [10**9, 12_000])
def test_many_processes_share_one_cache_consistently(tmp_path, max_bytes):
    """Each process reads back what it stored while the others store and evict around it."""
    workers = [
        subprocess.Popen([sys.executable, "-c", FILLER, str(tmp_path), str(max_bytes), "5"], cwd=ROOT) for _ in range(4)
    ]
    assert [worker.wait(120) for worker in workers] == [0, 0, 0, 0]
    cache = LocalCache(tmp_path, max_bytes=max_bytes, keep_recent=0)
    files = blob_files(cache)
    assert all(hashlib.sha256(path.read_bytes()).hexdigest() == path.name for path in files)
    assert cache.used_bytes() == sum(path.stat().st_size for path in files)
    assert {row.path for row in cache.listing()} == set(files)
    assert list((cache.root / "tmp").iterdir()) == []
    done = cache.collect()
    assert done.orphans == 0 and cache.used_bytes() <= max_bytes


def open_at_once(root: Path, start: multiprocessing.synchronize.Barrier) -> None:
    start.wait()
    put_image(LocalCache(root), os.getpid(), b"%d" % os.getpid())


def test_processes_opening_a_new_cache_at_once_all_open_it(tmp_path):
    """SQLite refuses, without waiting, all but one of the processes turning a new index to WAL at once."""
    fork = multiprocessing.get_context("fork")
    for round_ in range(40):
        start = fork.Barrier(6)
        openers = [fork.Process(target=open_at_once, args=(tmp_path / str(round_), start)) for _ in range(6)]
        for opener in openers:
            opener.start()
        for opener in openers:
            opener.join(60)
        assert [opener.exitcode for opener in openers] == [0] * 6, f"round {round_}"
        assert len(LocalCache(tmp_path / str(round_)).listing()) == 6


def test_a_cache_laid_out_by_another_version_is_started_afresh(tmp_path, caplog):
    cache = LocalCache(tmp_path)
    put_image(cache, 1, b"kept by an older client")
    cache.store.connection().execute("PRAGMA user_version = 0")  # as a layout this client does not know
    cache.close()
    with caplog.at_level("WARNING", logger="imagecache.client"):
        again = LocalCache(tmp_path)
    assert "starting it afresh" in caplog.text
    assert again.listing() == [] and blob_files(again) == [] and again.used_bytes() == 0
    put_image(again, 2, b"works as new")
    assert LocalCache(tmp_path).used_bytes() == len(b"works as new")

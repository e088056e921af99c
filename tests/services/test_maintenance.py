import io
import os

from imagecache.blobs.filesystem import FilesystemBlobStore
from imagecache.domain.counter_fields import MAINTENANCE_ERRORS
from imagecache.domain.entry_record import EntryRecord
from imagecache.index.counters import RedisCounters
from imagecache.index.file_index import RedisFileIndex
from imagecache.index.garbage import RedisBlobGarbage
from imagecache.index.recency import RedisRecency
from imagecache.queueing.rq_queue import job_id_for
from imagecache.services.blob_lifecycle import BlobKeeping
from imagecache.services.capacity import Capacity
from imagecache.services.file_cache import FileCache
from imagecache.services.item_sweep import ItemSweep
from imagecache.services.maintenance import Maintenance
from imagecache.services.recovery import Recovery
from testkit.index import activate, new_pending
from testkit.job_kinds import CHART, served_kinds

NOW = 1_800_000_000.0


def add(entries, digest, ttl, now=NOW):
    return new_pending(entries, digest, now=now, expires_at=now + ttl, pickup_grace=5)


def maintenance(entries, blobs, jobs, now, redis):
    prefix = entries.keys.prefix
    index, garbage = RedisFileIndex(redis, prefix), RedisBlobGarbage(redis, prefix)
    sweep = ItemSweep(lambda: RedisCounters(redis, prefix).increment(MAINTENANCE_ERRORS))
    capacity = Capacity(RedisRecency(redis, prefix), entries, index, max_bytes=0, sweep=sweep)
    files = FileCache(index, blobs, capacity, 1024, garbage=garbage, clock=lambda: now)
    recovery = Recovery(
        entries, jobs, served_kinds(redis, prefix), sweep, lease_ttl=3, pickup_grace=5, clock=lambda: now
    )
    return Maintenance(entries, files, BlobKeeping(blobs, garbage, capacity), jobs, recovery, sweep, clock=lambda: now)


def test_prune_deletes_expired_entries_with_their_blobs(entries, jobs, tmp_path, redis, prefix):
    blobs = FilesystemBlobStore(tmp_path)
    old = add(entries, "1" * 64, ttl=10)
    young = add(entries, "2" * 64, ttl=1000)
    for entry_id in (old, young):
        blobs.put(EntryRecord.result_prefix(entry_id) + ".1", io.BytesIO(b"img"), "image/png")
        activate(entries, entry_id, now=NOW, size=3)

    report = maintenance(entries, blobs, jobs, NOW + 11, redis).run_pass()

    assert (report.pruned, report.collected) == (1, 1)
    assert entries.get(old) is None and entries.get(young) is not None
    files = sorted(name for _, _, names in os.walk(tmp_path) for name in names)
    assert files == [young + ".1", young + ".1.meta"]
    assert RedisBlobGarbage(redis, prefix).due(NOW + 11) == []
    assert not any(old in key for key in redis.scan_iter(match=prefix + "*"))
    assert entries.counts()["bytes"] == 3


def test_queued_job_is_alive_and_a_flushed_one_is_restored(entries, jobs, tmp_path, redis):
    entry_id = add(entries, "3" * 64, ttl=1000)
    jobs.enqueue(entry_id, CHART)
    blobs = FilesystemBlobStore(tmp_path)
    assert jobs.waiting([entry_id]) == {entry_id}
    assert maintenance(entries, blobs, jobs, NOW + 60, redis).recover_lost() == 0

    jobs.queue.empty()  # the queue is flushed: the job is gone
    assert jobs.waiting([entry_id]) == set()
    assert maintenance(entries, blobs, jobs, NOW + 60, redis).recover_lost() == 0  # checked again after pickup grace
    assert maintenance(entries, blobs, jobs, NOW + 66, redis).recover_lost() == 1
    assert jobs.waiting([entry_id]) == {entry_id}
    assert jobs.queue.job_ids == [job_id_for(entry_id)]


def test_recently_enqueued_entries_get_a_grace_period(entries, jobs, tmp_path, redis):
    entry_id = add(entries, "4" * 64, ttl=1000)  # created, never enqueued
    assert maintenance(entries, FilesystemBlobStore(tmp_path), jobs, NOW + 1, redis).recover_lost() == 0
    assert maintenance(entries, FilesystemBlobStore(tmp_path), jobs, NOW + 6, redis).recover_lost() == 1
    assert jobs.waiting([entry_id]) == {entry_id}


def test_job_ids_are_valid_rq_ids():
    assert job_id_for("a" * 64 + "_1622181773.873009") == "produce-" + "a" * 64 + "_1622181773-873009"


def test_one_bad_item_never_stops_a_pass(entries, jobs, tmp_path, redis, prefix, caplog):
    """A corrupt entry, a corrupt file and an unusable garbage key are each logged, counted and passed over."""
    blobs = FilesystemBlobStore(tmp_path)
    good, bad = add(entries, "5" * 64, ttl=10), add(entries, "6" * 64, ttl=10)
    for entry_id in (good, bad):
        blobs.put(EntryRecord.result_prefix(entry_id) + ".1", io.BytesIO(b"img"), "image/png")
        activate(entries, entry_id, now=NOW, size=3)
    redis.hset(f"{prefix}entry:{bad}", "size", "three")
    index = RedisFileIndex(redis, prefix)
    corrupt_file = "c" * 128
    index.ensure(corrupt_file, "static:alice", NOW, NOW + 5)
    redis.hset(f"{prefix}file:{corrupt_file}", mapping={"placeholder": 0, "size": "-"})
    RedisBlobGarbage(redis, prefix).add("../outside", due=NOW)
    lost = add(entries, "7" * 64, ttl=1000)

    report = maintenance(entries, blobs, jobs, NOW + 11, redis).run_pass()

    assert (report.pruned, report.collected, report.restored, report.errors) == (1, 1, 1, 3)
    assert entries.get(good) is None and redis.exists(f"{prefix}entry:{bad}") and jobs.waiting([lost]) == {lost}
    assert redis.hget(prefix + "stats", "maintenance_errors") == "3"
    logged = caplog.text
    assert bad in logged and corrupt_file in logged and "../outside" in logged
    assert "file has no valid size" in logged and "entry has no valid size" in logged


def test_a_file_whose_expiry_moved_ends_the_sweep_and_is_kept(entries, jobs, tmp_path, redis, prefix):
    """Its place in the expiry set says expired, its record does not: the pass ends, the file stays."""
    index = RedisFileIndex(redis, prefix)
    cache_id = "d" * 128
    index.ensure(cache_id, "static:alice", NOW, NOW + 10_000)
    redis.zadd(f"{prefix}files:expiry", {cache_id: NOW - 1})

    report = maintenance(entries, FilesystemBlobStore(tmp_path), jobs, NOW, redis).run_pass()

    assert (report.pruned_files, report.errors) == (0, 0)
    assert index.get(cache_id, NOW) is not None
    assert redis.zscore(f"{prefix}files:expiry", cache_id) == NOW + 10_000

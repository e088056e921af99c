import io

import pytest

from imagecache.blobs.filesystem import FilesystemBlobStore
from imagecache.domain.entry_record import EntryRecord, Status
from imagecache.domain.error_backoff import ErrorBackoff
from imagecache.domain.errors import FetchError, StorageFull
from imagecache.domain.ports import FetchResult
from imagecache.index.file_index import RedisFileIndex
from imagecache.index.garbage import RedisBlobGarbage
from imagecache.index.recency import RedisRecency
from imagecache.services.blob_lifecycle import BlobKeeping
from imagecache.services.capacity import Capacity
from imagecache.services.item_sweep import ItemSweep
from imagecache.services.producer import Producer, ProductionRules
from testkit.index import claim, new_pending

NOW = 1_800_000_000.0


class ScriptedFetcher:
    """A fetcher that answers from a script: our own interface, not a library's."""

    name = "scripted"

    def __init__(self, *answers):
        self._answers = list(answers)
        self.queries = []

    def fetch(self, query):
        self.queries.append(query)
        answer = self._answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class FullStore(FilesystemBlobStore):
    def put(self, key, stream, content_type, metadata=None):
        raise StorageFull("storage is full")


RULES = ProductionRules(attempt_seconds=60, error_backoff=ErrorBackoff(30, 30), max_attempts=3, hold_seconds=1)


def pending(entries, digest="a" * 64, ttl=300):
    return new_pending(entries, digest, now=NOW, expires_at=NOW + ttl, query='{"q": 1}')


@pytest.fixture
def make_producer(entries, redis, prefix):
    """Producer(blobs, fetcher, max_bytes=0, lease="lease-1") over this test's index."""

    def make(blobs, fetcher, max_bytes=0, lease="lease-1"):
        capacity = Capacity(
            RedisRecency(redis, prefix), entries, RedisFileIndex(redis, prefix), max_bytes, ItemSweep(lambda: None)
        )
        keeping = BlobKeeping(blobs, RedisBlobGarbage(redis, prefix), capacity)
        return Producer(entries, keeping, {"chart": fetcher}, lease, RULES, clock=lambda: NOW + 1)

    return make


def test_success_stores_the_blob_and_activates(entries, tmp_path, make_producer):
    blobs = FilesystemBlobStore(tmp_path)
    entry_id = pending(entries)
    fetcher = ScriptedFetcher(FetchResult("image/png", b"png-bytes", attempts=2))
    make_producer(blobs, fetcher).produce(entry_id)
    entry = entries.get(entry_id)
    assert fetcher.queries == [{"q": 1}]
    assert (entry.status, entry.size, entry.content_type, entry.attempts) == (Status.ACTIVE, 9, "image/png", 1)
    assert blobs.open(entry.blob_key).read() == b"png-bytes"
    counts = entries.counts()
    assert (counts["upstream_calls"], counts["upstream_failures"], counts["bytes"]) == (2, 1, 9)


def test_definitive_error_lives_as_long_as_the_entry(entries, tmp_path, redis, make_producer):
    entry_id = pending(entries)
    fetcher = ScriptedFetcher(FetchError(400, "Invalid metric", definitive=True))
    make_producer(FilesystemBlobStore(tmp_path), fetcher).produce(entry_id)
    entry = entries.get(entry_id)
    assert (entry.status, entry.error_status, entry.error_message) == (Status.ERROR, 400, "Invalid metric")
    assert float(redis.hget(entries.keys.entry(entry_id), "error_until")) == NOW + 300


def test_transient_error_lives_error_ttl(entries, tmp_path, redis, make_producer):
    entry_id = pending(entries)
    fetcher = ScriptedFetcher(FetchError(504, "timed out", attempts=3))
    make_producer(FilesystemBlobStore(tmp_path), fetcher).produce(entry_id)
    assert float(redis.hget(entries.keys.entry(entry_id), "error_until")) == NOW + 1 + 30
    assert entries.counts()["upstream_failures"] == 3
    assert redis.get(entries.keys.failures_of(entry_id)) == "1"  # the upstream's failure: its query backs off


def test_the_caches_own_failure_answers_error_ttl_and_is_not_counted_against_the_query(
    entries, tmp_path, redis, make_producer
):
    entry_id = pending(entries)
    make_producer(FullStore(tmp_path), ScriptedFetcher(FetchResult("image/png", b"x"))).produce(entry_id)
    assert float(redis.hget(entries.keys.entry(entry_id), "error_until")) == NOW + 1 + 30
    assert redis.get(entries.keys.failures_of(entry_id)) is None


def results_stored(root, entry_id):
    """Every stored result of the entry, whatever its attempt (and their .meta sidecars)."""
    return sorted(p.name for p in root.glob(EntryRecord.result_prefix(entry_id) + "*"))


def test_two_workers_producing_one_entry_never_touch_each_others_result(entries, tmp_path, redis, make_producer):
    """A worker taken for dead (its lease lapsed) finishes after another has stored the entry: the winner's
    bytes stay, with the size and etag the index holds, and the loser's copy goes."""
    blobs = FilesystemBlobStore(tmp_path)
    entry_id = pending(entries)

    class SlowLoser(ScriptedFetcher):
        def fetch(self, query):
            make_producer(blobs, ScriptedFetcher(FetchResult("image/png", b"winner")), lease="lease-2").produce(
                entry_id
            )
            return FetchResult("image/png", b"the late loser")

    make_producer(blobs, SlowLoser(), lease="lease-1").produce(entry_id)
    entry = entries.get(entry_id)
    assert blobs.open(entry.blob_key).read() == b"winner" and entry.size == 6
    assert results_stored(tmp_path, entry_id) == sorted(
        [entry.blob_key.rsplit("/", 1)[1], entry.blob_key.rsplit("/", 1)[1] + ".meta"]
    )


def test_storage_failure_is_507_and_leaves_no_blob(entries, tmp_path, make_producer):
    entry_id = pending(entries)
    blobs = FullStore(tmp_path)
    make_producer(blobs, ScriptedFetcher(FetchResult("image/png", b"x"))).produce(entry_id)
    entry = entries.get(entry_id)
    assert (entry.status, entry.error_status) == (Status.ERROR, 507)
    assert results_stored(tmp_path, entry_id) == []


def test_entry_deleted_during_fetch_leaves_no_orphan_blob(entries, tmp_path, make_producer):
    blobs = FilesystemBlobStore(tmp_path)
    entry_id = pending(entries)

    class DeletingFetcher(ScriptedFetcher):
        def fetch(self, query):
            entries.delete(entry_id, NOW)
            return FetchResult("image/png", b"late")

    make_producer(blobs, DeletingFetcher()).produce(entry_id)
    assert entries.get(entry_id) is None
    assert results_stored(tmp_path, entry_id) == []


def test_settled_entry_is_not_fetched_again(entries, tmp_path, make_producer):
    entry_id = pending(entries)
    fetcher = ScriptedFetcher(FetchResult("image/png", b"1"))
    run = make_producer(FilesystemBlobStore(tmp_path), fetcher)
    run.produce(entry_id)
    run.produce(entry_id)
    assert len(fetcher.queries) == 1


def test_gives_up_after_max_attempts(entries, tmp_path, make_producer):
    entry_id = pending(entries)
    for n in range(3):
        claim(entries, entry_id, f"dead-lease-{n}", NOW)  # three attempts that died with their worker
    fetcher = ScriptedFetcher()
    make_producer(FilesystemBlobStore(tmp_path), fetcher).produce(entry_id)
    entry = entries.get(entry_id)
    assert fetcher.queries == []
    assert (entry.status, entry.error_status) == (Status.ERROR, 502)
    assert "gave up" in entry.error_message


def test_a_result_larger_than_the_whole_cache_is_507(entries, tmp_path, make_producer):
    entry_id = pending(entries)
    too_big = ScriptedFetcher(FetchResult("image/png", b"x" * 100))
    make_producer(FilesystemBlobStore(tmp_path), too_big, max_bytes=99).produce(entry_id)
    entry = entries.get(entry_id)
    assert (entry.status, entry.error_status) == (Status.ERROR, 507) and "CACHE_MAX_BYTES" in entry.error_message
    assert not (tmp_path / "images").exists()


def test_blob_round_trip_uses_bounded_reads(tmp_path):
    blobs = FilesystemBlobStore(tmp_path)
    blobs.put("k/x", io.BytesIO(b"z" * 10), "text/plain")
    assert blobs.open("k/x", 2, 3).read() == b"zzz"

"""The index's arithmetic under random histories, on a real Redis and real blobs.

A hypothesis state machine drives image requests, results of every size (0
included, up to 2^53 through the index scripts), failures, deletes, /v1
ensure/upload/replace/download/delete, the clock, eviction under
CACHE_MAX_BYTES and maintenance passes, requests by tenants with and without
quotas; after every step the invariants below must hold. "Live" means present
in Redis.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from redis import Redis
from rq.job import Job

from imagecache.blobs.filesystem import FilesystemBlobStore
from imagecache.domain.counter_fields import MAINTENANCE_ERRORS
from imagecache.domain.entry_record import EntryRecord, EntryRequest, Reuse, Status
from imagecache.domain.error_backoff import ErrorBackoff
from imagecache.domain.errors import CacheNotFound, CannotFit, FetchError, QuotaExceeded
from imagecache.domain.file_record import cache_id_for
from imagecache.domain.identity import Identity
from imagecache.domain.job_settings import JobSettings
from imagecache.domain.ports import FetchResult
from imagecache.domain.tenants import NO_QUOTA, Tenants
from imagecache.index.counters import RedisCounters
from imagecache.index.entry_index import RedisEntryIndex
from imagecache.index.file_index import RedisFileIndex
from imagecache.index.garbage import RedisBlobGarbage
from imagecache.index.recency import RedisRecency
from imagecache.index.tenant_accounts import RedisTenantAccounts
from imagecache.queueing.rq_queue import RqJobQueue, job_id_for
from imagecache.services.blob_lifecycle import BlobKeeping
from imagecache.services.capacity import Capacity, TenantBudgets
from imagecache.services.file_cache import FileCache
from imagecache.services.item_sweep import ItemSweep
from imagecache.services.maintenance import Maintenance
from imagecache.services.producer import Producer, ProductionRules
from imagecache.services.recovery import Recovery
from imagecache_client.ids import EntryId, canonical_json, query_digest
from testkit.index import activate
from testkit.job_kinds import CHART, served_kinds

START = 1_800_000_000.0
OWNER = Identity("alice", "static:alice")
SMALL = st.sampled_from([0, 0, 1, 7, 40])
HUGE = st.sampled_from([2**31 - 1, 2**31, 2**32 + 5, 2**40, 2**53])
TENANTS = Tenants.parse("a: pending=2, fresh_per_minute=5, stored_bytes=50; b; *: pending=3", "TENANTS")
WHO = st.sampled_from([None, "", "a", "b", "c"])  # None: nobody accounted; "" (no keys) and c: held to *'s quotas


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


class ScriptedFetcher:
    """The upstream port answering what the machine tells it to: `size` bytes or a failure."""

    def __init__(self) -> None:
        self.answer: int | FetchError = 0

    def fetch(self, query: object) -> FetchResult:
        if isinstance(self.answer, FetchError):
            raise self.answer
        return FetchResult("image/png", b"p" * self.answer)


class RecordedJobs:
    """The job-queue port: maintenance's restores are recorded, never run."""

    def __init__(self) -> None:
        self.enqueued: list[str] = []

    def enqueue(self, entry_id: str, job: JobSettings) -> None:
        self.enqueued.append(entry_id)

    def enqueue_again(self, entry_id: str, job: JobSettings, tenant: str = "") -> None:
        self.enqueued.append(entry_id)

    def waiting(self, entry_ids: list[str]) -> set[str]:
        return set()

    def clean(self) -> None:
        pass

    def depth(self) -> int:
        return 0

    def workers(self) -> int:
        return 0


class IndexMachine(RuleBasedStateMachine):
    def __init__(self, redis: Redis, prefix: str, root: Path) -> None:
        super().__init__()
        self.redis, self.prefix, self.root = redis, prefix, root
        self.clock = Clock()
        garbage = RedisBlobGarbage(redis, prefix)
        self.entries = RedisEntryIndex(redis, prefix)
        self.index = RedisFileIndex(redis, prefix)
        self.blobs = FilesystemBlobStore(root)
        counters = RedisCounters(redis, prefix)
        sweep = ItemSweep(lambda: counters.increment(MAINTENANCE_ERRORS))
        recency = RedisRecency(redis, prefix)
        self.accounts = RedisTenantAccounts(redis, prefix)
        budgets = TenantBudgets(TENANTS, self.accounts)
        self.capacity = Capacity(recency, self.entries, self.index, 0, sweep, clock=self.clock, budgets=budgets)
        self.files = FileCache(self.index, self.blobs, self.capacity, 1024, garbage=garbage, clock=self.clock)
        self.fetcher = ScriptedFetcher()
        keeping = BlobKeeping(self.blobs, garbage, self.capacity)
        rules = ProductionRules(attempt_seconds=60, error_backoff=ErrorBackoff(30, 30), max_attempts=3, hold_seconds=1)
        self.producer = Producer(self.entries, keeping, {"chart": self.fetcher}, "lease-1", rules, clock=self.clock)
        jobs = RecordedJobs()
        recovery = Recovery(
            self.entries, jobs, served_kinds(redis, prefix), sweep, lease_ttl=3, pickup_grace=5, clock=self.clock
        )
        self.maintenance = Maintenance(self.entries, self.files, keeping, jobs, recovery, sweep, clock=self.clock)
        self.queue = RqJobQueue(redis, prefix)  # its drafts go with the requests: their jobs are RQ's, in Redis
        self.ids: list[str] = []
        self.started: set[str] = set()

    @initialize(max_bytes=st.sampled_from([0, 0, 60]))
    def bound(self, max_bytes: int) -> None:
        self.capacity.max_bytes = max_bytes

    def teardown(self) -> None:
        keys = [Job.redis_job_namespace_prefix + job_id_for(entry_id) for entry_id in self.started]
        keys += self.redis.scan_iter(match=f"*{self.prefix.rstrip(':')}-*")  # the queue's line and upstream cap
        keys += self.redis.scan_iter(match=self.prefix + "*")
        if keys:
            self.redis.delete(*keys)
        shutil.rmtree(self.root, ignore_errors=True)

    # --- images ---------------------------------------------------------------------------------------------

    @rule(
        query=st.integers(0, 4),
        ttl=st.sampled_from([10, 100, 1000]),
        refresh=st.booleans(),
        max_age=st.sampled_from([None, 0, 30]),
        stale=st.sampled_from([None, 100]),
        stale_if_error=st.sampled_from([None, 100]),
        tenant=WHO,
    )
    def request_image(  # noqa: PLR0913  (hypothesis draws each argument)
        self,
        query: int,
        ttl: int,
        refresh: bool,
        max_age: int | None,
        stale: int | None,
        stale_if_error: int | None,
        tenant: str | None,
    ) -> None:
        digest = query_digest({"q": query})
        expires_at = round(self.clock.now + ttl, 6)
        before = self._everything() if tenant not in (None, "b") else None  # b has no quota to refuse it
        try:
            outcome = self.entries.request(
                EntryRequest(
                    digest=digest,
                    new_id=str(EntryId(digest, expires_at)),
                    now=self.clock.now,
                    expires_at=expires_at,
                    query=canonical_json({"q": query}),
                    job="chart",
                    check_pickup_at=self.clock.now + 5,
                    max_age=max_age,
                    refresh=refresh,
                    stale_while_revalidate=stale,
                    stale_if_error=stale_if_error,
                    tenant=tenant,
                    quota=NO_QUOTA if tenant is None else TENANTS.quota(tenant),
                    draft=self.queue.draft(str(EntryId(digest, expires_at)), CHART, tenant or ""),
                )
            )
        except QuotaExceeded as refused:  # changes nothing but the refusals' counts
            assert tenant not in (None, "b") and refused.quota in ("pending", "fresh_per_minute")
            assert self._everything() == before
            event(f"refused: {refused.quota}")
            return
        self.ids.append(outcome.entry.id)
        if outcome.started:
            self.ids.append(outcome.started)
            self.started.add(outcome.started)
        if outcome.reuse in (Reuse.HIT, Reuse.STALE):  # only a live result of this very query answers
            answered = outcome.entry
            assert answered.status is Status.ACTIVE and answered.expires_at > self.clock.now
            assert answered.id.startswith(digest)

    @rule(tenant=WHO, refresh=st.booleans())
    def rush(self, tenant: str | None, refresh: bool) -> None:
        """Every query at once from one tenant: past a's quotas at the third."""
        for query in range(5):
            self.request_image(query, 100, refresh, None, None, None, tenant)

    @rule(data=st.data(), size=SMALL)
    def produce(self, data: st.DataObject, size: int) -> None:
        if self.ids:
            self.fetcher.answer = size
            self.producer.produce(data.draw(st.sampled_from(self.ids)))

    @rule(data=st.data(), status=st.sampled_from([400, 503]))
    def fail(self, data: st.DataObject, status: int) -> None:
        if self.ids:
            self.fetcher.answer = FetchError(status, "no", definitive=status == 400)
            self.producer.produce(data.draw(st.sampled_from(self.ids)))

    @rule(data=st.data(), size=HUGE)
    def complete_huge(self, data: st.DataObject, size: int) -> None:
        """Sizes past 2^31 go through the index scripts alone (no blob of that size is written)."""
        if self.ids:
            entry_id = data.draw(st.sampled_from(self.ids))
            activate(self.entries, entry_id, now=self.clock.now, size=size)
            self.capacity.enforce()

    @rule(data=st.data())
    def delete_image(self, data: st.DataObject) -> None:
        if self.ids:
            entry_id = data.draw(st.sampled_from(self.ids))
            self.entries.delete(entry_id, self.clock.now)

    # --- /v1 files ------------------------------------------------------------------------------------------

    @rule(params=st.integers(0, 4))
    def ensure_file(self, params: int) -> None:
        self.files.cache_id(OWNER, {"p": params})

    @rule(params=st.integers(0, 4), size=SMALL)
    def upload(self, params: int, size: int) -> None:
        record = self.index.get(self._cache_id(params), self.clock.now)
        if record is not None:
            try:
                self.files.store(
                    record, io.BytesIO(b"f" * size), filename="f", content_type="text/plain", expected_sha256=None
                )
            except (CacheNotFound, CannotFit):
                pass

    @rule(params=st.integers(0, 4))
    def download(self, params: int) -> None:
        try:
            self.files.download(OWNER, self._cache_id(params))
        except CacheNotFound:
            pass

    @rule(params=st.integers(0, 4))
    def delete_file(self, params: int) -> None:
        try:
            self.files.delete(OWNER, self._cache_id(params))
        except CacheNotFound:
            pass

    # --- time and upkeep ------------------------------------------------------------------------------------

    @rule(seconds=st.sampled_from([1, 50, 700, 10**7]))
    def advance(self, seconds: int) -> None:
        self.clock.now += seconds

    @rule()
    def maintenance_pass(self) -> None:
        report = self.maintenance.run_pass()
        assert report.errors == 0, report

    def _everything(self) -> dict[str, object]:
        """Every key under the prefix and what it holds, less the counts of refusals."""
        found: dict[str, object] = {}
        for key in self.redis.scan_iter(match=self.prefix + "*"):
            kind = self.redis.type(key)
            if kind == "hash":
                fields = self.redis.hgetall(key)
                found[key] = {k: v for k, v in fields.items() if "refus" not in k}
            elif kind == "zset":
                found[key] = self.redis.zrange(key, 0, -1, withscores=True)
            elif kind == "set":
                found[key] = self.redis.smembers(key)
            else:
                found[key] = self.redis.get(key)
        return found

    def _cache_id(self, params: int) -> str:
        return cache_id_for(OWNER.token_id, {"p": params})

    # --- invariants -----------------------------------------------------------------------------------------

    def _live(self) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        """Every entry and file record present in Redis (the machine knows every id it could have made)."""
        ids = list(set(self.ids))
        with self.redis.pipeline(transaction=False) as pipe:
            for entry_id in ids:
                pipe.hgetall(f"{self.prefix}entry:{entry_id}")
            for params in range(5):
                pipe.hgetall(f"{self.prefix}file:{self._cache_id(params)}")
            found = pipe.execute()
        entries = [  # a hash holds neither its id nor the entry's part of its result key: the record says them
            {**f, "id": i, "blob_key": EntryRecord.from_fields(i, f).blob_key} for i, f in zip(ids, found) if f
        ]
        return entries, [f for f in found[len(ids) :] if f]

    @invariant()
    def a_query_has_at_most_one_live_pending_entry(self) -> None:
        """Single flight, refreshes of stale results included."""
        entries, _ = self._live()
        pending = [
            f["id"][:64] for f in entries if f["status"] == "pending" and float(f["expires_at"]) > self.clock.now
        ]
        assert len(pending) == len(set(pending))

    @invariant()
    def an_entry_has_a_job_if_and_only_if_a_request_started_it(self) -> None:
        """The job goes with the entry in one step: none for a join, a hit, a stale answer or a refusal."""
        known = sorted(set(self.ids))
        with self.redis.pipeline(transaction=False) as pipe:
            for entry_id in known:
                pipe.exists(Job.redis_job_namespace_prefix + job_id_for(entry_id))
            queued = {entry_id for entry_id, found in zip(known, pipe.execute()) if found}
        assert queued == self.started

    @invariant()
    def counters_and_lru_match_the_live_records(self) -> None:
        entries, files = self._live()
        active = {f["id"]: int(f["size"]) for f in entries if f["status"] == "active"}
        stored = {f["cache_id"]: int(f["size"]) for f in files if f["placeholder"] == "0"}
        stats = self.redis.hgetall(self.prefix + "stats")
        assert int(stats.get("bytes", 0)) == sum(active.values())
        assert int(stats.get("file_bytes", 0)) == sum(stored.values())
        lru = set(self.redis.zrange(self.prefix + "lru", 0, -1))
        assert lru == {f"i:{i}" for i in active} | {f"f:{c}" for c in stored}
        counts = self.entries.counts()
        for status in Status:
            assert counts[f"{status.value}_count"] == sum(f["status"] == status.value for f in entries), status

    @invariant()
    def each_tenant_s_figures_match_its_live_entries(self) -> None:
        entries, _ = self._live()
        for tenant in ("", "a", "b", "c"):
            own = [f for f in entries if f.get("tenant") == tenant]
            figures = self.redis.hgetall(f"{self.prefix}tenant:{tenant}")
            pending = sum(f["status"] == "pending" for f in own)
            active = {f["id"]: int(f["size"]) for f in own if f["status"] == "active"}
            assert int(figures.get("pending", 0)) == pending, tenant
            assert int(figures.get("bytes", 0)) == sum(active.values()), tenant
            assert set(self.redis.zrange(f"{self.prefix}tenant_lru:{tenant}", 0, -1)) == {f"i:{i}" for i in active}
        assert int(self.redis.hget(f"{self.prefix}tenant:a", "pending") or 0) <= 2
        assert int(self.redis.hget(f"{self.prefix}tenant:c", "pending") or 0) <= 3
        assert int(self.redis.hget(f"{self.prefix}tenant:a", "bytes") or 0) <= 50

    @invariant()
    def every_blob_is_referenced_once_or_is_garbage(self) -> None:
        entries, files = self._live()
        referenced = [f["blob_key"] for f in entries if f["status"] == "active"]
        referenced += [f["blob_key"] for f in files if f["blob_key"]]
        assert len(referenced) == len(set(referenced))
        garbage = set(self.redis.zrange(self.prefix + "gc", 0, -1))
        assert not garbage & set(referenced)
        for blob in self.blobs.blobs():
            assert (blob.key in referenced) != (blob.key in garbage), blob.key
        assert not list((self.root / ".tmp").iterdir())


@pytest.fixture
def machine_settings() -> settings:
    return settings(
        max_examples=200,
        stateful_step_count=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def test_the_index_stays_consistent_under_any_history(redis, prefix, tmp_path, machine_settings):
    count = iter(range(10**6))
    run_state_machine_as_test(
        lambda: IndexMachine(redis, f"{prefix}{next(count)}:", tmp_path / f"blobs-{next(count)}"),
        settings=machine_settings,
    )


def test_zero_and_huge_sizes_through_every_script(redis, prefix):
    """The scripts the issue found wedged: each accepts a 0-byte result and sizes up to 2^53."""
    entries, index = RedisEntryIndex(redis, prefix), RedisFileIndex(redis, prefix)
    for size in (0, 2**31, 2**53):
        digest = query_digest({"size": size})
        entry_id = str(EntryId(digest, START + 10))
        entries.request(EntryRequest(digest, entry_id, START, START + 10, "{}", "chart", check_pickup_at=START))
        assert activate(entries, entry_id, now=START, size=size)
        assert entries.delete(entry_id, START)
        record = index.ensure(f"{size:0128x}", "t", START, START + 10)
        stored = {
            **record.__dict__,
            "size": size,
            "blob_key": f"files/x/{size}",
            "placeholder": False,
            "expires_at": START + 100,
        }
        assert index.replace(type(record)(**stored), START, START).value == "ok"
        assert index.replace(type(record)(**{**stored, "blob_key": f"files/y/{size}"}), START, START).value == "ok"
        assert index.remove(record.cache_id, START)
    stats = redis.hgetall(prefix + "stats")
    assert int(stats["bytes"]) == 0 and int(stats["file_bytes"]) == 0
    assert sorted(redis.zrange(prefix + "gc", 0, -1)) == sorted(
        [
            EntryRecord.result_prefix(str(EntryId(query_digest({"size": s}), START + 10))) + ".1"
            for s in (0, 2**31, 2**53)
        ]
        + [f"files/{d}/{s}" for s in (0, 2**31, 2**53) for d in "xy"]
    )

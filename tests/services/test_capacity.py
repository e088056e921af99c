"""CACHE_MAX_BYTES: least recently used results go first, images and files alike."""

import io

import pytest

from imagecache.blobs.filesystem import FilesystemBlobStore
from imagecache.domain.errors import CannotFit
from imagecache.domain.identity import Identity
from imagecache.domain.tenants import Tenants
from imagecache.index.entry_index import RedisEntryIndex
from imagecache.index.file_index import RedisFileIndex
from imagecache.index.garbage import RedisBlobGarbage
from imagecache.index.recency import RedisRecency
from imagecache.index.tenant_accounts import RedisTenantAccounts
from imagecache.services.capacity import Capacity, TenantBudgets
from imagecache.services.file_cache import FileCache
from imagecache.services.item_sweep import ItemSweep
from testkit.index import activate, new_pending, request

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
    entries.touch(entries.get(used), NOW - 5)  # served recently: now the youngest
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
    capacity = Capacity(RedisRecency(redis, prefix), entries, RedisFileIndex(redis, prefix), 0, ItemSweep(lambda: None))
    image(entries, 1, 10**9, NOW)
    assert capacity.fits(10**12) and capacity.enforce() == 0


@pytest.fixture
def budgeted(redis, prefix):
    entries = RedisEntryIndex(redis, prefix)
    accounts = RedisTenantAccounts(redis, prefix)
    budgets = TenantBudgets(Tenants.parse("alice: stored_bytes=1000; bob", "TENANTS"), accounts)
    capacity = Capacity(
        RedisRecency(redis, prefix),
        entries,
        RedisFileIndex(redis, prefix),
        max_bytes=5000,
        sweep=ItemSweep(lambda: None),
        clock=lambda: NOW,
        budgets=budgets,
    )
    return entries, accounts, capacity


def tenant_image(entries, n, size, at, tenant):
    entry_id = request(entries, f"{n:064x}", now=at, ttl=NOW + 1000 - at, tenant=tenant).entry.id
    activate(entries, entry_id, now=at, size=size)
    return entry_id


def test_a_tenant_past_its_budget_loses_its_own_least_recent_results_not_another_s(budgeted):
    entries, accounts, capacity = budgeted
    bobs = [tenant_image(entries, n, 400, NOW - 100 + n, "bob") for n in range(3)]  # the oldest of all
    old, used, young = (tenant_image(entries, 10 + n, 400, NOW - 50 + n, "alice") for n in range(3))
    entries.touch(entries.get(old), NOW - 1)  # served lately: now alice's youngest
    assert capacity.enforce_for("alice", young) == 1
    assert entries.get(used) is None and entries.get(old) and entries.get(young)
    assert all(entries.get(entry_id) for entry_id in bobs)  # under the shared bound: bob's stay
    assert accounts.stored_bytes("alice") == 800 and accounts.figures(["alice"])[0]["evicted"] == 1
    assert capacity.used() == 2000


def test_maintenance_s_pass_holds_every_tenant_to_its_budget(budgeted, redis, prefix):
    entries, accounts, capacity = budgeted
    for n in range(4):
        tenant_image(entries, n, 300, NOW - 10 + n, "alice")  # the producer's eviction was skipped (an outage)
    assert accounts.stored_bytes("alice") == 1200
    assert capacity.enforce() == 1 and accounts.stored_bytes("alice") == 900
    assert accounts.seen() == ["alice"]


def test_a_result_larger_than_its_tenant_s_whole_budget_is_kept_for_those_waiting_until_the_next_pass(budgeted):
    entries, accounts, capacity = budgeted
    older = tenant_image(entries, 1, 600, NOW - 20, "alice")
    huge = tenant_image(entries, 2, 1500, NOW - 10, "alice")  # another tenant may have joined its production
    assert capacity.enforce_for("alice", huge) == 1  # alice's older result goes; the new one is read first
    assert entries.get(older) is None and entries.get(huge) is not None
    assert capacity.enforce() == 1 and entries.get(huge) is None and accounts.stored_bytes("alice") == 0


def test_a_result_evicted_by_another_process_first_is_not_counted_twice(budgeted, redis, prefix):
    entries, accounts, capacity = budgeted
    taken = tenant_image(entries, 9, 100, NOW - 30, "alice")
    entries.delete(taken, NOW)  # another process's pass evicted it, after this one chose it
    redis.zadd(f"{prefix}tenant_lru:alice", {f"i:{taken}": NOW - 30})
    oldest, *rest = (tenant_image(entries, n, 400, NOW - 10 + n, "alice") for n in range(3))
    assert capacity.enforce() == 1 and accounts.figures(["alice"])[0]["evicted"] == 1
    assert entries.get(oldest) is None and all(entries.get(entry_id) for entry_id in rest)
    assert redis.zrange(f"{prefix}tenant_lru:alice", 0, -1) == [f"i:{entry_id}" for entry_id in rest]

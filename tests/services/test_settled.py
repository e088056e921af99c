"""SettledEntries: only settled entries are remembered, within a bound, and forgotten when told."""

from __future__ import annotations

from imagecache.domain.entry_record import EntryRecord, Status
from imagecache.services.settled import SettledEntries


def record(n: int, status: Status = Status.ACTIVE) -> EntryRecord:
    return EntryRecord(id=f"{n:064x}_1800000000", status=status, created_at=0, expires_at=1_800_000_000, query="")


def test_pending_entries_are_never_remembered():
    settled = SettledEntries()
    settled.remember(record(1, Status.PENDING))
    settled.remember(record(2, Status.ERROR))
    assert settled.get(record(1).id) is None and settled.get(record(2).id) == record(2, Status.ERROR)


def test_the_least_recently_read_go_first_past_the_bound():
    settled = SettledEntries(capacity=2)
    settled.remember(record(1))
    settled.remember(record(2))
    assert settled.get(record(1).id) is not None  # 1 is now the most recent
    settled.remember(record(3))
    assert settled.get(record(2).id) is None
    assert settled.get(record(1).id) is not None and settled.get(record(3).id) is not None


def test_forget_drops_the_entry_and_its_last_use():
    settled = SettledEntries()
    settled.remember(record(1))
    assert settled.touch_due(record(1).id, now=100, interval=60)
    settled.forget(record(1).id)
    assert settled.get(record(1).id) is None
    assert settled.touch_due(record(1).id, now=101, interval=60)  # its last use went with it


def test_use_is_due_once_an_interval():
    settled = SettledEntries()
    assert settled.touch_due("a", now=100, interval=60)
    assert not settled.touch_due("a", now=159, interval=60)
    assert settled.touch_due("a", now=160, interval=60)

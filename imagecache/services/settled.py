"""SettledEntries: a per-process memory of settled entries.

An active or error entry keeps its result until its id expires (and ids carry
their expiry), so a process may answer repeat lookups without asking Redis.
Its tags and soft-purge mark may still change: every change is announced to
every process (the notifier), which forgets the entry, so views stay true.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from imagecache.domain.entry_record import EntryRecord, Status

CAPACITY = 10_000


class SettledEntries:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, EntryRecord] = OrderedDict()
        self._touched: dict[str, float] = {}
        self._lock = threading.Lock()

    def get(self, entry_id: str) -> EntryRecord | None:
        with self._lock:
            entry = self._entries.get(entry_id)
            if entry is not None:
                self._entries.move_to_end(entry_id)
            return entry

    def remember(self, entry: EntryRecord) -> None:
        if entry.status is Status.PENDING:
            return
        with self._lock:
            self._entries[entry.id] = entry
            self._entries.move_to_end(entry.id)
            while len(self._entries) > self._capacity:
                gone, _ = self._entries.popitem(last=False)
                self._touched.pop(gone, None)

    def forget(self, entry_id: str | None) -> None:
        """Drop an entry another process deleted (evicted) or changed; None: every entry (news was missed)."""
        with self._lock:
            if entry_id is None:
                self._entries.clear()
                self._touched.clear()
                return
            self._entries.pop(entry_id, None)
            self._touched.pop(entry_id, None)

    def touch_due(self, entry_id: str, now: float, interval: float, last: float = 0.0) -> bool:
        """True at most once per interval per entry (first counted from `last`): use is recorded coarsely, not on
        every hit."""
        with self._lock:
            if now - self._touched.get(entry_id, last) < interval:
                return False
            self._touched[entry_id] = now
            return True

"""TagPurge: every entry carrying any of some tags removed (with its blob, through the garbage set), or marked
stale (a soft purge: served only to requests that allow a stale result while a refresh runs).

A tag may hold any number of entries, so a purge works in batches: each round
trip scans one batch of a tag's set and deletes or marks it, and no Redis
command runs long enough to stall other clients (bench/purge.py reads SLOWLOG).
An entry tagged after the purge began may outlive it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from imagecache.domain.ports import Counters, EntryUpkeep

BATCH = 200


class TagPurge:
    def __init__(self, entries: EntryUpkeep, counters: Counters, clock: Callable[[], float] = time.time) -> None:
        self._entries = entries
        self._counters = counters
        self._clock = clock

    def purge(self, tags: list[str], soft: bool) -> int:
        """How many entries were removed (or, soft, marked stale)."""
        done = sum(self._purge_tag(tag, soft) for tag in dict.fromkeys(tags))
        if done:
            self._counters.add({"soft_purged" if soft else "purged": done})
        return done

    def _purge_tag(self, tag: str, soft: bool) -> int:
        done, cursor = 0, 0
        while True:
            cursor, ids = self._entries.tagged(tag, cursor, BATCH)
            if ids:
                done += self._soften(ids) if soft else self._delete(ids)
            if cursor == 0:
                return done

    def _soften(self, ids: list[str]) -> int:
        return self._entries.soften(ids, self._clock())

    def _delete(self, ids: list[str]) -> int:
        outcomes = self._entries.delete_expired(ids, self._clock())
        failed = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
        if failed:
            raise failed[0]
        return sum(1 for outcome in outcomes if outcome is True)

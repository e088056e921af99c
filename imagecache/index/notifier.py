"""RedisEntryNotifier: the EntryNotifier port on Redis pub/sub; wakes local waiters the moment an entry leaves pending.

One Redis pub/sub connection per process carries every completion; waiters
are in-process events, so 500 waiting requests cost 500 events and one
connection, not 500 connections or 500 pollers. Under gunicorn's gevent
worker the thread and events are green, so waiting blocks nothing.

A settled entry is announced with its fields (`<id> <JSON object>`, the index
scripts' `announce`), handed to its waiters: a woken GET serves it without
reading it again. A bare `<id>` (a deletion, new tags, a soft purge) only wakes.
Listeners hear every id, and None after a (re)subscription: news may have been
missed meanwhile, so anything remembered may have changed.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from redis import Redis
from redis.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from imagecache.domain.entry_record import EntryRecord

log = logging.getLogger(__name__)

RECONNECT_DELAY = 1.0
PRIMARY_CHECK = 2.0  # seconds between looks at where the primary is (with Sentinel)


class _Watch(threading.Event):
    """An EntryWatch: set when its entry's news arrives, holding the entry when the news carried it."""

    def __init__(self) -> None:
        super().__init__()
        self.settled: EntryRecord | None = None

    def deliver(self, settled: EntryRecord | None) -> None:
        self.settled = settled
        self.set()


class _Member(_Watch):
    """One entry's watch within a group: its news goes to the group."""

    def __init__(self, entry_id: str, group: _GroupWatch) -> None:
        super().__init__()
        self._entry_id = entry_id
        self._group = group

    def deliver(self, settled: EntryRecord | None) -> None:
        self._group.deliver(self._entry_id, settled)


class _GroupWatch:
    """An EntryGroupWatch: the news of many entries, in the order it arrives, to one waiter."""

    def __init__(self) -> None:
        self._news: deque[tuple[str, EntryRecord | None]] = deque()
        self._arrived = threading.Event()
        self._lock = threading.Lock()

    def deliver(self, entry_id: str, settled: EntryRecord | None) -> None:
        with self._lock:
            self._news.append((entry_id, settled))
            self._arrived.set()

    def next(self, timeout: float) -> tuple[str, EntryRecord | None] | None:
        self._arrived.wait(timeout)
        with self._lock:
            if not self._news:
                return None
            news = self._news.popleft()
            if not self._news:
                self._arrived.clear()
            return news


class RedisEntryNotifier:
    def __init__(self, redis: Redis, channel: str, primary_moved: Callable[[], bool] = lambda: False) -> None:
        self._redis = redis
        self._channel = channel
        self._primary_moved = primary_moved
        self._waiters: dict[str, set[_Watch]] = {}
        self._listeners: list[Callable[[str | None], object]] = []
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None

    def add_listener(self, callback: Callable[[str | None], object]) -> None:
        """Call back with every entry id that settles, changes or is deleted, in this process; with None when news
        may have been missed."""
        self._listeners.append(callback)
        self._ensure_listening()

    @contextmanager
    def watching(self, entry_id: str) -> Iterator[_Watch]:
        """A watch set when entry_id settles (with the entry, when its announcement carried it) or when waiters
        should look again. Watching starts before the listener may: a first subscription finds the watch and wakes
        it."""
        event = _Watch()
        with self._lock:
            self._waiters.setdefault(entry_id, set()).add(event)
        try:
            self._ensure_listening()
            yield event
        finally:
            with self._lock:
                self._forget(entry_id, event)

    @contextmanager
    def watching_all(self, entry_ids: list[str]) -> Iterator[_GroupWatch]:
        """One watch over many entries (an event stream's): each one's news as it arrives (watching before the
        listener may start, as `watching`)."""
        group = _GroupWatch()
        members = [(entry_id, _Member(entry_id, group)) for entry_id in entry_ids]
        with self._lock:
            for entry_id, member in members:
                self._waiters.setdefault(entry_id, set()).add(member)
        try:
            self._ensure_listening()
            yield group
        finally:
            with self._lock:
                for entry_id, member in members:
                    self._forget(entry_id, member)

    def watched(self) -> int:
        """How many entry ids are watched now: a wait that ended and left its watch behind would show here."""
        with self._lock:
            return len(self._waiters)

    def _forget(self, entry_id: str, event: _Watch) -> None:
        """Drop one waiter (the lock held)."""
        events = self._waiters.get(entry_id)
        if events is not None:
            events.discard(event)
            if not events:
                del self._waiters[entry_id]

    def _ensure_listening(self) -> None:
        with self._lock:
            if self._listener is None or not self._listener.is_alive():
                self._listener = threading.Thread(target=self._listen, name="entry-notifier", daemon=True)
                self._listener.start()

    def _listen(self) -> None:
        while True:
            try:
                with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    pubsub.subscribe(self._channel)
                    self._wake_all()  # anything settled while we were not subscribed
                    self._relay(pubsub)
            except RedisError as exc:
                log.warning("notifier: lost Redis subscription (%s), reconnecting", type(exc).__name__)
                self._wake_all()
                time.sleep(RECONNECT_DELAY)

    def _relay(self, pubsub: PubSub) -> None:
        """Every message to its waiters, until the subscription fails. A subscription left on a former primary
        (a graceful failover, a partition) fails in no way of its own: it only hears nothing more, so every
        PRIMARY_CHECK seconds it asks whether the primary moved."""
        checked = time.monotonic()
        while True:
            message = pubsub.get_message(timeout=1.0)
            if message is not None:
                self._wake(message["data"])
            if time.monotonic() - checked > PRIMARY_CHECK:
                checked = time.monotonic()
                if self._primary_moved():
                    raise RedisConnectionError("the Sentinels promoted another primary")

    def _wake(self, message: str) -> None:
        entry_id, _, fields = message.partition(" ")
        for callback in self._listeners:
            callback(entry_id)
        with self._lock:
            events = list(self._waiters.get(entry_id, ()))
        if events:
            settled = _settled(entry_id, fields)
            for event in events:
                event.deliver(settled)

    def _wake_all(self) -> None:
        for callback in self._listeners:
            callback(None)
        with self._lock:
            events = [event for events in self._waiters.values() for event in events]
        for event in events:
            event.deliver(None)


def _settled(entry_id: str, fields: str) -> EntryRecord | None:
    """The entry an announcement carries; None for a bare id, or one this version cannot read (then the waiter
    reads the entry itself)."""
    if not fields:
        return None
    try:
        return EntryRecord.from_fields(entry_id, json.loads(fields))
    except (ValueError, KeyError, TypeError):
        return None

"""What the floor's web and worker share: its settings, its keys and its two scripts."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import falcon

# An entry's state: made and waiting for its result, produced, or failed.
PENDING, DONE, FAILED = b"0", b"1", b"2"

# The POST's one round trip: the entry made if new, its job queued with it; the entry's state answered.
REQUEST = """
if redis.call('SET', KEYS[1], ARGV[2], 'NX') then redis.call('LPUSH', KEYS[2], ARGV[1]) end
return redis.call('GET', KEYS[1])
"""

# The worker's one round trip after producing: the state set, the job off the working list, waiters told.
SETTLE = """
redis.call('SET', KEYS[1], ARGV[2])
redis.call('LREM', KEYS[2], 1, ARGV[3])
redis.call('PUBLISH', KEYS[3], ARGV[1])
"""


@dataclass(frozen=True)
class Settings:
    """Read from the environment once, in each process's entry point."""

    redis_url: str
    results: Path
    upstream: str  # the stand-in Kentik API's base URL

    @classmethod
    def from_environment(cls) -> Settings:
        return cls(os.environ["REDIS_URL"], Path(os.environ["CACHE_PATH"]), os.environ["KENTIK_API_URL"])


@dataclass(frozen=True)
class Keys:
    prefix: str = "floor:"

    def entry(self, entry_id: str) -> str:
        return f"{self.prefix}entry:{entry_id}"

    @property
    def jobs(self) -> str:
        return self.prefix + "jobs"

    @property
    def working(self) -> str:
        return self.prefix + "working"

    @property
    def settled(self) -> str:
        return self.prefix + "settled"


def entry_id(query: Any) -> str:
    """imagecache's identity: the SHA-256 of the query's canonical JSON."""
    return hashlib.sha256(json.dumps(query, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


KEYS = Keys()


def request_call(query: Any) -> tuple[str, list[str], list[str | bytes]]:
    """A POST's query as its entry id, and its script's keys and arguments (the job carries the query)."""
    found = entry_id(query)
    return found, [KEYS.entry(found), KEYS.jobs], [json.dumps({"id": found, "query": query}), PENDING]


def answer(resp: falcon.Response, state: bytes | None, image: Path) -> None:
    """A GET's answer, once its entry is settled or the wait for it ran out (either web tier's response)."""
    if state is None:
        raise falcon.HTTPNotFound()
    if state != DONE:
        raise falcon.HTTPBadGateway()
    resp.content_type = "image/png"
    resp.data = image.read_bytes()


class Settable(Protocol):
    def set(self) -> None: ...


Event = TypeVar("Event", bound=Settable)


class Listeners(Generic[Event]):
    """A process's waiting GETs by entry, each an event its one subscription sets: a thread's or a task's."""

    def __init__(self) -> None:
        self._events: dict[str, list[Event]] = {}

    def add(self, entry: str, event: Event) -> None:
        self._events.setdefault(entry, []).append(event)

    def forget(self, entry: str, event: Event) -> None:
        waiting = self._events.get(entry, [])
        if event in waiting:
            waiting.remove(event)

    def wake(self, settled: bytes) -> None:
        for event in self._events.pop(settled.decode(), ()):
            event.set()

"""What the floor's web and worker share: its settings, its keys, its two scripts and a GET's answer."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import falcon

from imagecache_client.ids import canonical_json, query_digest

# An entry's state: made and waiting for its result, produced, or failed.
PENDING, DONE, FAILED = b"0", b"1", b"2"
WAIT_SECONDS = 60  # the longest a GET waits for its entry

# The POST's one round trip: the entry made if new, its job queued with it.
REQUEST = "if redis.call('SET', KEYS[1], ARGV[2], 'NX') then redis.call('LPUSH', KEYS[2], ARGV[1]) end"

# The worker's one round trip after producing: the state set, the job off its working list, waiters told.
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
    threads: int  # the worker's, each producing one job at a time

    @classmethod
    def from_environment(cls) -> Settings:
        environ = os.environ
        return cls(
            environ["REDIS_URL"], Path(environ["CACHE_PATH"]), environ["KENTIK_API_URL"], int(environ["THREADS"])
        )


class Keys:
    PREFIX = "floor:"
    jobs = PREFIX + "jobs"
    settled = PREFIX + "settled"  # the channel every web process listens on

    @classmethod
    def entry(cls, entry: str) -> str:
        return f"{cls.PREFIX}entry:{entry}"

    @classmethod
    def working(cls, worker: str) -> str:
        """A worker's jobs under way: one list each, so the jobs of a worker that died can be told and requeued."""
        return f"{cls.PREFIX}working:{worker}"


def request_call(query: Any) -> tuple[str, list[str], list[str | bytes]]:
    """A POST's query as its entry id (imagecache's own digest), and its script's keys and arguments: the job
    carries the entry and its query."""
    entry = query_digest(query)
    job = canonical_json({"id": entry, "query": query})
    return entry, [Keys.entry(entry), Keys.jobs], [job, PENDING]


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

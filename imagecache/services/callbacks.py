"""CallbackDispatch: a request's `callback_url` is POSTed to when its entry settles, never delaying the result.

The request script keeps the URL with a pending entry; the script that settles
the entry marks its callbacks due in the same step, so none is lost to a race.
The worker that settled it hands them to the callback queue at once (one RQ job
per callback, retried with backoff: queueing/callbacks.py, workers/callbacks/);
maintenance hands on any a worker died before handing on. A request answered by
an entry already settled is called back at once. Only hosts and ports in
CALLBACK_ALLOWED_HOSTS may be called, and only at public addresses (or inside
CALLBACK_ALLOWED_NETWORKS), so the service cannot be pointed at the network it
runs in (domain/callback_targets.py).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from imagecache.domain.callback_targets import CallbackTargets
from imagecache.domain.entry_record import EntryRecord
from imagecache.domain.errors import InvalidCallback
from imagecache.domain.ports import CallbackQueue, CallbackRegistry, EntryLookup

log = logging.getLogger(__name__)

LEFT_BEHIND = 10.0  # seconds after its entry settled that maintenance hands on a callback no worker did


class CallbackDispatch:
    def __init__(
        self,
        entries: EntryLookup,
        registry: CallbackRegistry,
        queue: CallbackQueue,
        targets: CallbackTargets,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._entries = entries
        self._registry = registry
        self._queue = queue
        self._targets = targets
        self._clock = clock

    def check(self, url: object) -> str:
        """The URL, if callbacks may be sent to it; raises InvalidCallback saying why not."""
        problem = self._targets.url_problem(url)
        if problem:
            raise InvalidCallback(problem)
        return str(url)

    def send_now(self, entry: EntryRecord, url: str) -> None:
        """A callback for an entry that was settled when asked for."""
        self._queue.enqueue(url, body(entry))

    def dispatch(self, entry_id: str) -> int:
        """Hand a settled entry's callbacks to the queue; how many."""
        urls = self._registry.urls(entry_id)
        entry = self._entries.get(entry_id) if urls else None
        if entry is not None:
            for url in urls:
                self._queue.enqueue(url, body(entry))
        self._registry.sent(entry_id)
        return len(urls) if entry is not None else 0

    def dispatch_left_behind(self) -> int:
        """Callbacks of entries settled a while ago that no worker handed on (it died in between)."""
        due = self._registry.due(self._clock() - LEFT_BEHIND)
        if due:
            log.info("callbacks: handing on %d entries' callbacks left behind", len(due))
        return sum(self.dispatch(entry_id) for entry_id in due)


def body(entry: EntryRecord) -> bytes:
    """What a callback POSTs: the entry's notice and its expiry, as JSON."""
    return json.dumps({**entry.notice(), "expires_at": entry.expires_at}, separators=(",", ":")).encode()

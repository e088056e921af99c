"""GET /events?id=...&id=... (or POST {"ids": [...]}): a server-sent event stream, one event per entry as it
settles, then `done`; a dashboard with 40 charts waits on one connection.

Every stream of a process listens on that process's one pub/sub connection (the
notifier), as waiting GETs do: no polling, no Redis connection per listener.
Under gunicorn's gevent worker a stream is a greenlet waiting on an event, and
it holds one of the process's wait slots until it ends (web/admission.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import falcon

from imagecache.domain.entry_record import EntryRecord
from imagecache.domain.estimates import Estimate
from imagecache.domain.outages import is_outage
from imagecache.services.image_cache import ImageCache, Progressed
from imagecache.web.admission import WaitAdmission
from imagecache.web.contract.reading import read_body, read_query
from imagecache.web.contract.requests import Contract, EventIds

Estimator = Callable[[EntryRecord], Estimate | None]
KEEPALIVE_SECONDS = 15.0  # a comment line this often, so proxies and clients see a live stream


class EventsResource:
    def __init__(self, cache: ImageCache, contract: Contract, max_body_bytes: int, waits: WaitAdmission) -> None:
        self._cache = cache
        self._contract = contract
        self._max_body = max_body_bytes
        self._waits = waits

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        asked = read_query(req, self._contract.events_query)
        self._stream(req, resp, asked.id, asked.wait)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        wait = read_query(req, self._contract.events_wait).wait
        self._stream(req, resp, read_body(req, EventIds, self._max_body).ids, wait)

    def _stream(self, req: falcon.Request, resp: falcon.Response, ids: list[str], wait: float | None) -> None:
        """Wait (at most ENTRY_WAIT_TIMEOUT, the most unless asked for less) for each entry once."""
        most = self._contract.max_wait if wait is None else wait
        settling = self._cache.settle_events(list(dict.fromkeys(ids)), most, KEEPALIVE_SECONDS)
        resp.content_type = "text/event-stream"
        resp.cache_control = ["no-cache"]
        resp.set_header("X-Accel-Buffering", "no")  # nginx: pass each event on at once
        resp.stream = self._waits.hold_stream(req, _events(settling, self._cache.estimate))


def event_fields(entry_id: str, entry: EntryRecord | None) -> dict[str, Any]:
    """What an event says of an entry (EntryRecord.notice), or that there is none by that id."""
    return {"id": entry_id, "status": "not_found"} if entry is None else entry.notice()


def _with_estimate(fields: dict[str, Any], entry: EntryRecord | None, estimated: Estimator) -> dict[str, Any]:
    """An entry still pending when the stream's wait ran out says where it stands and when it should be done."""
    try:
        found = estimated(entry) if entry is not None else None
    except Exception as exc:  # the index away as the stream ends: the entry as it stands, and `done`, still go out
        if not is_outage(exc):
            raise
        found = None
    if found is None:
        return fields
    eta = {"eta_seconds": found.eta_seconds} if found.eta_seconds is not None else {}
    return {**fields, "queue_position": found.queue_position, **eta}


def _events(
    news: Iterator[tuple[str, EntryRecord | None] | Progressed | None], estimated: Estimator
) -> Iterator[bytes]:
    """The stream: at once a line that opens it (the server sends its headers with its first bytes, and a
    client's EventSource is open once they arrive), then the events."""
    yield b": open\n\n"
    sent = 0
    for item in news:
        if item is None:
            yield b": keep-alive\n\n"
            continue
        if isinstance(item, Progressed):
            progress = {"id": item.entry_id, "fraction": item.progress.fraction, "message": item.progress.message}
            yield f"event: progress\ndata: {json.dumps(progress)}\n\n".encode()
            continue
        sent += 1
        fields = _with_estimate(event_fields(*item), item[1], estimated)
        yield f"event: entry\ndata: {json.dumps(fields)}\n\n".encode()
    yield f"event: done\ndata: {json.dumps({'entries': sent})}\n\n".encode()

"""GET /events?id=...&id=... (or POST {"ids": [...]}): a server-sent event stream, one event per entry as it
settles, then `done`; a dashboard with 40 charts waits on one connection.

Every stream of a process listens on that process's one pub/sub connection (the
notifier), as waiting GETs do: no polling, no Redis connection per listener.
Under gunicorn's gevent worker a stream is a greenlet waiting on an event, and
it holds one of the process's wait slots until it ends (web/admission.py).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import falcon

from imagecache.domain.entry_record import EntryRecord
from imagecache.services.image_cache import ImageCache
from imagecache.web.admission import WaitAdmission
from imagecache.web.bodies.json_body import INVALID, read_json
from imagecache.web.error_responses import ApiError

MAX_IDS = 100
KEEPALIVE_SECONDS = 15.0  # a comment line this often, so proxies and clients see a live stream


class EventsResource:
    def __init__(self, cache: ImageCache, max_wait: float, max_body_bytes: int, waits: WaitAdmission) -> None:
        self._cache = cache
        self._max_wait = max_wait
        self._max_body = max_body_bytes
        self._waits = waits

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._stream(req, resp, req.get_param_as_list("id") or [])

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, self._max_body)
        ids = body.get("ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not all(isinstance(entry_id, str) for entry_id in ids):
            raise ApiError(400, 'body must be {"ids": [<entry id>, ...]}', loc="ids", kind=INVALID)
        self._stream(req, resp, ids)

    def _stream(self, req: falcon.Request, resp: falcon.Response, ids: list[str]) -> None:
        ids = list(dict.fromkeys(ids))
        if not 0 < len(ids) <= MAX_IDS:
            raise ApiError(400, f"give 1 to {MAX_IDS} entry ids", loc="id", kind=INVALID)
        wait = wait_param(req, self._max_wait)
        wait = self._max_wait if wait is None else wait
        resp.content_type = "text/event-stream"
        resp.cache_control = ["no-cache"]
        resp.set_header("X-Accel-Buffering", "no")  # nginx: pass each event on at once
        resp.stream = self._waits.hold_stream(req, _events(self._cache.settle_events(ids, wait, KEEPALIVE_SECONDS)))


def wait_param(req: falcon.Request, most: float) -> float | None:
    """The `wait` query parameter: seconds, from 0 to `most` (ENTRY_WAIT_TIMEOUT); None when absent."""
    raw = req.get_param("wait")
    if raw is None:
        return None
    try:
        wait = float(raw)
    except ValueError:
        wait = math.nan
    if not 0 <= wait <= most:
        raise ApiError(400, f"'wait' must be a number of seconds from 0 to {most:g}", loc="wait", kind=INVALID)
    return wait


def event_fields(entry_id: str, entry: EntryRecord | None) -> dict[str, Any]:
    """What an event says of an entry (EntryRecord.notice), or that there is none by that id."""
    return {"id": entry_id, "status": "not_found"} if entry is None else entry.notice()


def _events(news: Iterator[tuple[str, EntryRecord | None] | None]) -> Iterator[bytes]:
    """The stream: at once a line that opens it (the server sends its headers with its first bytes, and a
    client's EventSource is open once they arrive), then the events."""
    yield b": open\n\n"
    sent = 0
    for item in news:
        if item is None:
            yield b": keep-alive\n\n"
            continue
        sent += 1
        yield f"event: entry\ndata: {json.dumps(event_fields(*item))}\n\n".encode()
    yield f"event: done\ndata: {json.dumps({'entries': sent})}\n\n".encode()

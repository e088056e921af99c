"""HTTP resources of the Kentik-compatible API: /requests and /image."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import falcon

from imagecache.domain.entry_record import EntryRecord, Reuse, Status
from imagecache.domain.errors import FetchError, InvalidCallback, QueryTooLarge, TooManyTags, UnknownJob
from imagecache.services.image_cache import Ask, ImageCache
from imagecache.web.admission import WaitAdmission
from imagecache.web.bodies.json_body import INVALID, read_json
from imagecache.web.error_responses import ApiError
from imagecache.web.resources.events import wait_param
from imagecache.web.resources.purge import read_tags
from imagecache.web.serving import serve_blob

# On /image failures: "error" (the result could not be produced: the upstream's or storage's status)
# or "pending" (not ready yet: ask again), told apart from the server's own refusals (404, 401, 503).
ENTRY_STATUS = "Imagecache-Entry-Status"


class RequestsResource:
    def __init__(self, cache: ImageCache, max_body_bytes: int, max_wait: float, waits: WaitAdmission) -> None:
        self._cache = cache
        self._max_body = max_body_bytes
        self._max_wait = max_wait
        self._waits = waits

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, self._max_body)
        query, ask = self._parse(body)
        try:
            outcome = self._cache.request(query, ask)
        except UnknownJob as exc:
            raise ApiError(400, str(exc), loc="job", kind=INVALID) from None
        except InvalidCallback as exc:
            raise ApiError(400, str(exc), loc="callback_url", kind=INVALID) from None
        except TooManyTags as exc:
            raise ApiError(400, str(exc), loc="tags", kind=INVALID) from None
        except QueryTooLarge as exc:
            raise ApiError(413, str(exc), loc="api_query", kind=INVALID) from None
        except FetchError as exc:  # the job kind's own check of the query
            raise ApiError(exc.status, exc.message, loc="api_query", kind=INVALID) from None
        entry = outcome.entry
        status = Reuse.STALE.value if outcome.reuse is Reuse.STALE else entry.status.value
        resp.media = {"id": entry.id, "status": status, "expires_at": entry.expires_at}

    def on_get_entry(self, req: falcon.Request, resp: falcon.Response, entry_id: str) -> None:
        """At once, or with `?wait=S` as soon as the entry settles or after S seconds: a long poll, admitted (a
        wait slot taken) before anything else is done for it."""
        wait = wait_param(req, self._max_wait)
        if wait:
            with self._waits.hold(req):
                entry = self._cache.wait_settled(entry_id, wait)
        else:
            entry = self._cache.lookup(entry_id)
        if entry is None:
            raise ApiError(404, "Request not found", loc=entry_id)
        resp.media = entry.summary()

    def _parse(self, body: Any) -> tuple[dict[str, Any], Ask]:
        if not isinstance(body, dict):
            raise ApiError(400, "request body must be a JSON object", loc="body", kind=INVALID)
        query = body.get("api_query")
        if not isinstance(query, dict):
            message = "Incomplete request, missing 'api_query'" if query is None else "'api_query' must be an object"
            raise ApiError(400, message, loc="api_query", kind=INVALID)
        refresh = body.get("refresh", False)
        if not isinstance(refresh, bool):
            raise ApiError(400, "'refresh' must be true or false", loc="refresh", kind=INVALID)
        return query, Ask(
            ttl=_optional_int(body, "ttl", minimum=1, maximum=self._cache.limits.max_ttl),
            max_age=_optional_int(body, "max_age", minimum=0, maximum=None),
            refresh=refresh,
            job=_optional_name(body, "job"),
            stale_while_revalidate=_optional_int(body, "stale_while_revalidate", minimum=0, maximum=None),
            stale_if_error=_optional_int(body, "stale_if_error", minimum=0, maximum=None),
            tags=read_tags(body),
            callback_url=_callback_url(body),
        )


class JobsResource:
    """GET /jobs: the job kinds a request may name now, with their settings."""

    def __init__(self, cache: ImageCache) -> None:
        self._cache = cache

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"default": self._cache.default_job, "jobs": [kind.to_json() for kind in self._cache.job_kinds()]}


class ImageResource:
    def __init__(self, cache: ImageCache, wait_timeout: float, waits: WaitAdmission) -> None:
        self._cache = cache
        self._wait_timeout = wait_timeout
        self._waits = waits

    def on_get(self, req: falcon.Request, resp: falcon.Response, entry_id: str) -> None:
        entry = self._settled(req, entry_id)
        if entry.status is Status.ERROR:
            raise ApiError(
                entry.error_status,
                entry.error_message,
                loc=entry_id,
                kind=entry.error_type,
                headers={ENTRY_STATUS: "error"},
            )
        self._cache.record_use(entry)
        remaining = self._cache.remaining_life(entry)
        resp.cache_control = [f"max-age={remaining}", "immutable"]
        resp.last_modified = datetime.fromtimestamp(entry.completed_at, UTC)  # what max_age measures
        serve_blob(req, resp, entry, lambda start, length: self._cache.open(entry, start, length))

    on_head = on_get

    def _settled(self, req: falcon.Request, entry_id: str) -> EntryRecord:
        """The entry once settled. One this process remembers as settled is served at once; any other may be
        pending and waited for (ENTRY_WAIT_TIMEOUT at most), so it is admitted (a wait slot taken) before anything
        else is done for it: a burst of waits past the caps costs no round trip to Redis."""
        entry = self._cache.remembered(entry_id)
        if entry is None:
            with self._waits.hold(req):
                entry = self._cache.wait_settled(entry_id, self._wait_timeout)
        if entry is None:
            raise ApiError(404, "Image not found", loc=entry_id)
        if entry.status is Status.PENDING:
            raise ApiError(
                504,
                "image is still being produced; try again",
                loc=entry_id,
                headers={"Retry-After": "5", ENTRY_STATUS: "pending"},
            )
        return entry


def _callback_url(body: dict[str, Any]) -> str:
    url = body.get("callback_url")
    if url is None:
        return ""
    if not isinstance(url, str) or not url:
        raise ApiError(400, "'callback_url' must be a URL", loc="callback_url", kind=INVALID)
    return url


def _optional_name(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None or isinstance(value, str) and 0 < len(value) <= 64:
        return value
    raise ApiError(400, f"'{name}' must be a name of 1 to 64 characters", loc=name, kind=INVALID)


def _optional_int(body: dict[str, Any], name: str, *, minimum: int, maximum: int | None) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ApiError(400, f"'{name}' must be an integer of at least {minimum}", loc=name, kind=INVALID)
    if maximum is not None and value > maximum:
        raise ApiError(400, f"'{name}' must not exceed {maximum}", loc=name, kind=INVALID)
    return value

"""HTTP resources of the Kentik-compatible API: /requests and /image."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime

import falcon

from imagecache.domain.entry_record import Status
from imagecache.domain.errors import FetchError, InvalidCallback, QueryTooLarge, QuotaExceeded, TooManyTags, UnknownJob
from imagecache.domain.estimates import RETRY_AFTER_DEFAULT
from imagecache.services.image_cache import Ask, ImageCache, Settling
from imagecache.web import cache_status, signed_urls
from imagecache.web.admission import WaitAdmission
from imagecache.web.bodies.json_body import INVALID
from imagecache.web.contract.answers import Created, EntryView, Jobs
from imagecache.web.contract.reading import read_body, read_query
from imagecache.web.contract.requests import Contract, ImageRequestBody
from imagecache.web.error_responses import ApiError
from imagecache.web.serving import serve_blob
from imagecache.web.signed_urls import UrlSigner, signed_until

# On /image failures: "error" (the result could not be produced: the upstream's or storage's status)
# or "pending" (not ready yet: ask again), told apart from the server's own refusals (404, 401, 503).
ENTRY_STATUS = "Imagecache-Entry-Status"
OVER_QUOTA = "over_quota"  # a 429's type when the tenant's quota refused it (its loc names the quota)


class RequestsResource:
    def __init__(
        self,
        cache: ImageCache,
        contract: Contract,
        max_body_bytes: int,
        waits: WaitAdmission,
        signer: UrlSigner | None = None,  # None: signed URLs are off
    ) -> None:
        self._cache = cache
        self._contract = contract
        self._max_body = max_body_bytes
        self._waits = waits
        self._signer = signer

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        asked = read_body(req, self._contract.image_request, self._max_body)
        if asked.signed_url_ttl and self._signer is None:
            message = "signed URLs are off here (SIGNED_URL_SECRET is empty)"
            raise ApiError(400, message, loc="signed_url_ttl", kind=INVALID)
        try:
            outcome = self._cache.request(asked.api_query, _ask(asked, str(req.context.get("api_key_name") or "")))
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
        except QuotaExceeded as exc:
            headers = {"Retry-After": str(exc.retry_after)}
            raise ApiError(429, str(exc), loc=exc.quota, kind=OVER_QUOTA, headers=headers) from None
        resp.set_header(cache_status.HEADER, cache_status.of_request(outcome.reuse, asked.refresh))
        entry, signed_url = outcome.entry, None
        if asked.signed_url_ttl and self._signer is not None:
            signed_url = self._signer.url_for(entry.id, entry.expires_at, asked.signed_url_ttl)
        resp.media = Created.of(entry, outcome.reuse, signed_url).json_body()

    def on_get_entry(self, req: falcon.Request, resp: falcon.Response, entry_id: str) -> None:
        """At once, or with `?wait=S` as soon as the entry settles or after S seconds: a long poll, admitted (a
        wait slot taken) before anything else is done for it."""
        wait = read_query(req, self._contract.entry_query).wait
        if wait:
            with self._waits.hold(req):
                entry = self._cache.wait_settled(entry_id, wait).entry
        else:
            entry = self._cache.lookup(entry_id)
        if entry is None:
            raise ApiError(404, "Request not found", loc=entry_id)
        estimate = self._cache.estimate(entry)
        if estimate is not None:  # still pending: when to ask again
            resp.set_header("Retry-After", str(estimate.retry_after()))
        resp.media = EntryView.of(entry, estimate).json_body()


class JobsResource:
    """GET /jobs: the job kinds a request may name now, with their settings."""

    def __init__(self, cache: ImageCache) -> None:
        self._cache = cache

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = Jobs(default=self._cache.default_job, jobs=self._cache.job_kinds()).json_body()


class ImageResource:
    def __init__(self, cache: ImageCache, wait_timeout: float, waits: WaitAdmission) -> None:
        self._cache = cache
        self._wait_timeout = wait_timeout
        self._waits = waits

    def on_get(self, req: falcon.Request, resp: falcon.Response, entry_id: str) -> None:
        settling = self._settled(req, entry_id)
        entry = settling.entry
        assert entry is not None  # _settled answers 404 for none
        if entry.status is Status.ERROR:
            raise ApiError(
                entry.error_status,
                entry.error_message,
                loc=entry_id,
                kind=entry.error_type,
                headers={ENTRY_STATUS: "error", cache_status.HEADER: cache_status.ERROR},
            )
        self._cache.record_use(entry)
        resp.set_header(cache_status.HEADER, cache_status.of_image(settling.waited))
        remaining = self._cache.remaining_life(entry)
        until = signed_until(req)
        immutable = [f"max-age={remaining}", "immutable"]
        resp.cache_control = immutable if until is None else signed_urls.cache_control(until, remaining, time.time())
        resp.last_modified = datetime.fromtimestamp(entry.completed_at, UTC)  # what max_age measures
        serve_blob(req, resp, entry, lambda start, length: self._cache.open(entry, start, length))

    on_head = on_get

    def _settled(self, req: falcon.Request, entry_id: str) -> Settling:
        """The entry once settled. One this process remembers as settled is served at once; any other may be
        pending and waited for (ENTRY_WAIT_TIMEOUT at most), so it is admitted (a wait slot taken) before anything
        else is done for it: a burst of waits past the caps costs no round trip to Redis."""
        remembered = self._cache.remembered(entry_id)
        if remembered is not None:
            return Settling(remembered)
        with self._waits.hold(req):
            settling = self._cache.wait_settled(entry_id, self._wait_timeout)
        if settling.entry is None:
            raise ApiError(404, "Image not found", loc=entry_id)
        if settling.entry.status is Status.PENDING:
            estimate = self._cache.estimate(settling.entry)
            retry_after = str(estimate.retry_after() if estimate else RETRY_AFTER_DEFAULT)
            raise ApiError(
                504,
                "image is still being produced; try again",
                loc=entry_id,
                headers={
                    "Retry-After": retry_after,
                    ENTRY_STATUS: "pending",
                    cache_status.HEADER: cache_status.PENDING,
                },
            )
        return settling


_ASK_FIELDS = frozenset(field.name for field in dataclasses.fields(Ask))


def _ask(asked: ImageRequestBody, tenant: str) -> Ask:
    """The body's options, by Ask's own field names; tags once each, no callback as ""; who asks."""
    options = asked.model_dump(include=set(_ASK_FIELDS))
    extra = {"tags": tuple(dict.fromkeys(asked.tags)), "callback_url": asked.callback_url or "", "tenant": tenant}
    return Ask(**{**options, **extra})

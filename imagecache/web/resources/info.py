"""/info: what the cache holds, paged so it never dumps an unbounded list."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import falcon

from imagecache.domain.entry_record import EntryRecord, Status
from imagecache.services.image_cache import ImageCache
from imagecache.services.statistics import CacheStatistics
from imagecache.web.contract.answers import Info, InfoEntry
from imagecache.web.contract.reading import read_query
from imagecache.web.contract.requests import InfoQuery
from imagecache.web.error_responses import ApiError
from imagecache.web.resources.info_page import Listing, render_entry_page, render_info_page

PAGE_FOR_PEOPLE = 48  # entries a browser's page lists (JSON clients get `limit`, 100 by default)
PAGES_SCANNED = 10  # pages a browser's filtered page looks through for a match before it shows none


class InfoResource:
    def __init__(self, cache: ImageCache, statistics: CacheStatistics, renderer: str) -> None:
        self._cache = cache
        self._statistics = statistics
        self._renderer = renderer

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        asked = read_query(req, InfoQuery)
        for_people = req.client_prefers([falcon.MEDIA_JSON, falcon.MEDIA_HTML]) == falcon.MEDIA_HTML
        limit = PAGE_FOR_PEOPLE if for_people and "limit" not in req.params else asked.limit
        page = self._cache.page(asked.cursor, limit)
        matching = [entry for entry in page.entries if asked.matches(entry)]
        if for_people:
            for _ in range(PAGES_SCANNED - 1):  # a filter that matches nothing here: look further, within bounds
                if matching or page.next_cursor is None or not asked.filtering:
                    break
                page = self._cache.page(page.next_cursor, limit)
                matching = [entry for entry in page.entries if asked.matches(entry)]
            resp.content_type = falcon.MEDIA_HTML
            kept = {**asked.filters(), **({"limit": str(limit)} if "limit" in req.params else {})}
            listing = Listing(matching, kept, page.next_cursor)
            statistics = self._statistics
            resp.text = render_info_page(statistics.summary(), statistics.last_hour(), listing, statistics.tenants())
            return
        listed: dict[str, list[InfoEntry]] = {f"{status.value}_entries": [] for status in Status}
        for entry in matching:
            listed[f"{entry.status.value}_entries"].append(self._view(entry))
        tenants = [dataclasses.asdict(row) for row in self._statistics.tenants()]
        summary = {**self._statistics.summary(), "renderer": self._renderer, "tenants": tenants}
        info = Info.model_validate({**summary, **listed, "next_cursor": page.next_cursor})
        resp.media = info.json_body()

    def _view(self, entry: EntryRecord) -> InfoEntry:
        """The Kentik Image Cache's entry fields (id, type, size, expiration) plus numbers."""
        expiry = datetime.fromtimestamp(entry.expires_at, tz=UTC)
        kind = {Status.ACTIVE: entry.content_type, Status.PENDING: "request", Status.ERROR: "error"}[entry.status]
        return InfoEntry(
            id=entry.id,
            status=entry.status.value,
            type=kind,
            size=entry.size,
            expiration=expiry.isoformat(),
            expires_at=entry.expires_at,
            remaining=self._cache.remaining_life(entry),
        )


class InfoEntryResource:
    """GET /info/entries/<id>: one entry for people, its query and a preview included."""

    def __init__(self, cache: ImageCache) -> None:
        self._cache = cache

    def on_get(self, req: falcon.Request, resp: falcon.Response, entry_id: str) -> None:
        entry = self._cache.lookup(entry_id)
        if entry is None:
            raise ApiError(404, "Request not found", loc=entry_id)
        resp.content_type = falcon.MEDIA_HTML
        resp.text = render_entry_page(entry, self._cache.remaining_life(entry))

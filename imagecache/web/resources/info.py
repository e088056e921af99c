"""/info: what the cache holds, paged so it never dumps an unbounded list."""

from __future__ import annotations

from datetime import UTC, datetime

import falcon

from imagecache.domain.entry_record import EntryRecord, Status
from imagecache.services.image_cache import ImageCache
from imagecache.services.statistics import CacheStatistics
from imagecache.web.contract.answers import Info, InfoEntry
from imagecache.web.contract.reading import read_query
from imagecache.web.contract.requests import InfoQuery
from imagecache.web.resources.info_page import NEWEST, render_info_page


class InfoResource:
    def __init__(self, cache: ImageCache, statistics: CacheStatistics, renderer: str) -> None:
        self._cache = cache
        self._statistics = statistics
        self._renderer = renderer

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if req.client_prefers([falcon.MEDIA_JSON, falcon.MEDIA_HTML]) == falcon.MEDIA_HTML:
            resp.content_type = falcon.MEDIA_HTML
            resp.text = render_info_page(self._statistics.summary(), self._cache.newest(NEWEST))
            return
        asked = read_query(req, InfoQuery)
        page = self._cache.page(asked.cursor, asked.limit)
        listed: dict[str, list[InfoEntry]] = {f"{status.value}_entries": [] for status in Status}
        for entry in page.entries:
            listed[f"{entry.status.value}_entries"].append(self._view(entry))
        info = Info.model_validate(
            {**self._statistics.summary(), "renderer": self._renderer, **listed, "next_cursor": page.next_cursor}
        )
        resp.media = info.json_body()

    def _view(self, entry: EntryRecord) -> InfoEntry:
        """The seed's entry fields (id, type, size, expiration) plus numbers."""
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

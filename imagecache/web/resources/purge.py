"""POST /purge: remove (or, soft, mark stale) every entry carrying any of the tags given."""

from __future__ import annotations

import falcon

from imagecache.services.tag_purge import TagPurge
from imagecache.web.contract.answers import Purged
from imagecache.web.contract.reading import read_body
from imagecache.web.contract.requests import PurgeRequest


class PurgeResource:
    def __init__(self, purge: TagPurge, max_body_bytes: int) -> None:
        self._purge = purge
        self._max_body = max_body_bytes

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        asked = read_body(req, PurgeRequest, self._max_body)
        resp.media = Purged(purged=self._purge.purge(asked.tags, asked.soft), soft=asked.soft).json_body()

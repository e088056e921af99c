"""/favicon.ico, so browsers looking at /info get an icon instead of a 404 in the log."""

from __future__ import annotations

from importlib import resources

import falcon


class FaviconResource:
    def __init__(self) -> None:
        self._icon = resources.files("imagecache.web").joinpath("assets/favicon.ico").read_bytes()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = "image/x-icon"
        resp.cache_control = ["max-age=86400"]
        resp.data = self._icon

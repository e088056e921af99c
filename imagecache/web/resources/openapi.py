"""GET /openapi.json: the contract's document, made again only when the job kinds served change."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import falcon

from imagecache.web.contract.openapi import OpenApiDocument, SwitchedOn
from imagecache.web.contract.requests import Contract


class OpenApiResource:
    def __init__(self, contract: Contract, switched_on: SwitchedOn, kinds: Callable[[], Sequence[str]]) -> None:
        self._contract = contract
        self._switched_on = switched_on
        self._kinds = kinds
        self._made: tuple[tuple[str, ...], dict[str, Any]] | None = None

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        kinds = tuple(self._kinds())
        if self._made is None or self._made[0] != kinds:
            self._made = (kinds, OpenApiDocument(self._contract, self._switched_on, kinds).build())
        resp.media = self._made[1]

"""Readiness (can this process serve now?) and liveness (is it running?)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import falcon

from imagecache.web.contract.answers import Health, Live

log = logging.getLogger(__name__)


class HealthResource:
    def __init__(self, checks: Mapping[str, Callable[[], object]]) -> None:
        self._checks = checks

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        report = {name: self._probe(name, check) for name, check in self._checks.items()}
        down = sorted(name for name, state in report.items() if state != "ok")
        resp.status = falcon.HTTP_503 if down else falcon.HTTP_200
        resp.media = Health(status="unavailable" if down else "ok", checks=report, down=down).json_body()

    def on_get_live(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = Live(status="ok").json_body()

    @staticmethod
    def _probe(name: str, check: Callable[[], object]) -> str:
        try:
            check()
        except Exception as exc:  # any failure means "not ready", and says why
            log.warning("health: %s is down: %s", name, type(exc).__name__)
            return f"down: {type(exc).__name__}"
        return "ok"

"""JSON errors in the shape the Kentik Image Cache answers: {"type", "loc", "msg"}.

Every failure, ours or Falcon's (404 route, 405 method, 500), leaves as one
of these, whatever the client's Accept header says.
"""

from __future__ import annotations

import logging
from typing import Any

import falcon
from redis.exceptions import RedisError

from imagecache.blobs import StorageError

log = logging.getLogger(__name__)


class ApiError(falcon.HTTPError):
    def __init__(
        self,
        status: int,
        msg: str,
        *,
        loc: Any = "",
        kind: str = "error",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, title=kind, description=msg, headers=headers)
        self.loc = loc

    def to_dict(self, obj_type: type = dict) -> dict[str, Any]:
        return obj_type(type=self.title, loc=self.loc, msg=self.description)


def serialize_error(req: falcon.Request, resp: falcon.Response, error: falcon.HTTPError) -> None:
    if isinstance(error, ApiError):
        body = error.to_dict()
    else:
        body = {"type": "error", "loc": req.path, "msg": error.description or error.title}
    resp.content_type = falcon.MEDIA_JSON
    resp.media = body


def redis_unavailable(req: falcon.Request, resp: falcon.Response, exc: RedisError, params: dict[str, Any]) -> None:
    log.error("redis unavailable: %s", type(exc).__name__)
    raise ApiError(503, "cache index (Redis) is unavailable", loc=req.path, headers={"Retry-After": "1"})


def storage_failed(req: falcon.Request, resp: falcon.Response, exc: StorageError, params: dict[str, Any]) -> None:
    log.error("storage error: %s", exc)
    if exc.status == 404:
        raise ApiError(404, "Image not found", loc=req.path)
    raise ApiError(exc.status, str(exc) or "storage is unavailable", loc=req.path)


def install(app: falcon.App) -> None:
    app.set_error_serializer(serialize_error)
    app.add_error_handler(RedisError, redis_unavailable)
    app.add_error_handler(StorageError, storage_failed)

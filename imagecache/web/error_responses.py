"""JSON errors in the shape each API's existing clients parse.

Kentik-style routes answer {"type", "loc", "msg"} as the Kentik Image Cache
does; /v1 routes answer {"status": "error", "error"} as KBase's
CachingService does. Every failure, ours or Falcon's (404 route, 405 method,
500), leaves in its route's shape, whatever the client's Accept header says.
"""

from __future__ import annotations

import logging
from typing import Any

import falcon

from imagecache.domain.errors import StorageError, StorageUnavailable
from imagecache.domain.outages import is_outage
from imagecache.domain.request_context import request_id
from imagecache.web.contract.answers import FileError, KentikError

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
        return obj_type(KentikError(type=self.title, loc=self.loc, msg=self.description or self.title).json_body())


# What a resource says of a result it was about to serve; an error raised after (storage failing as the blob is
# opened, say) must not carry them, or a cache in front would keep the error for the result's life.
RESULT_HEADERS = ("Cache-Control", "ETag", "Last-Modified", "Accept-Ranges", "Cache-Status")


def serialize_error(req: falcon.Request, resp: falcon.Response, error: falcon.HTTPError) -> None:
    given = error.headers or {}
    own = {name.lower() for name in (given.keys() if isinstance(given, dict) else (pair[0] for pair in given))}
    for name in RESULT_HEADERS:
        if name.lower() not in own:
            resp.delete_header(name)
    message = error.description or error.title
    if req.path == "/v1" or req.path.startswith("/v1/"):
        body = FileError(status="error", error=message).json_body()
    elif isinstance(error, ApiError):
        body = error.to_dict()
    else:
        body = KentikError(type="error", loc=req.path, msg=message).json_body()
    resp.content_type = falcon.MEDIA_JSON
    resp.media = body


def unexpected(req: falcon.Request, resp: falcon.Response, exc: Exception, params: dict[str, Any]) -> None:
    """The index unreachable or not serving is an outage (503, Retry-After); anything else is a bug (500).

    Storage outages have a handler of their own (storage_failed), so an outage that reaches this one is the index's.
    """
    if is_outage(exc):
        log.error("redis unavailable: %s: %s", type(exc).__name__, exc)
        raise ApiError(503, "cache index (Redis) is unavailable", loc=req.path, headers={"Retry-After": "1"})
    log.error("%s %s failed: %s: %s", req.method, req.path, type(exc).__name__, exc, exc_info=exc)
    raise ApiError(
        500,
        f"internal error; the server's log has the details under request id {request_id.get()}",
        loc=req.path,
        kind="internal error",
    )


def not_found_in_storage(req: falcon.Request) -> str:
    return "Cache ID not found" if req.path.startswith("/v1/") else "Image not found"


def storage_failed(req: falcon.Request, resp: falcon.Response, exc: StorageError, params: dict[str, Any]) -> None:
    log.error("storage error: %s", exc)
    if exc.status == 404:
        raise ApiError(404, not_found_in_storage(req), loc=req.path)
    retry = {"Retry-After": "5"} if isinstance(exc, StorageUnavailable) else None
    raise ApiError(exc.status, str(exc) or "storage is unavailable", loc=req.path, headers=retry)


def install(app: falcon.App) -> None:
    app.set_error_serializer(serialize_error)
    app.add_error_handler(Exception, unexpected)
    app.add_error_handler(StorageError, storage_failed)

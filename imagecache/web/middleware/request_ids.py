"""RequestIdMiddleware: every request gets an id (the caller's X-Request-ID if sane), logged and echoed."""

from __future__ import annotations

import contextvars

import falcon

from imagecache.domain.request_context import clean_request_id, request_id


class RequestIdMiddleware:
    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        value = clean_request_id(req.get_header("X-Request-ID"))
        req.context.request_id = value
        req.context.request_id_token = request_id.set(value)
        resp.set_header("X-Request-ID", value)

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        token: contextvars.Token[str] | None = req.context.get("request_id_token")
        if token is not None:
            request_id.reset(token)

"""Cors: Falcon's CORS middleware, saying `Vary: Origin` on every answer.

Its headers depend on the request's Origin (present or not, allowed or not),
and /image answers are `immutable`: a browser's or a proxy's cache that stores
one without Vary hands one origin's answer to another.
"""

from __future__ import annotations

import falcon


class Cors(falcon.CORSMiddleware):
    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        super().process_response(req, resp, resource, req_succeeded)
        resp.append_header("Vary", "Origin")

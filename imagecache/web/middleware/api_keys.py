"""Optional API keys for the Kentik-style routes, /info and /metrics.

Off unless API_KEYS_FILE is set (the seed leaves auth to a proxy). Keys are
sent as `Authorization: Bearer <key>` and stored hashed (`sha256(key) name`).
/health, /favicon.ico, /openapi.json, / and /v1 (which has its own tokens)
stay open, and so does /image for a URL whose signature holds (signed_urls.py);
every other route, one added later included, needs a key.

The check runs after routing and looks at the route that was matched, not at
the raw path: `//info` and `/%69nfo` reach the same resource as `/info`, so
they must meet the same guard.
"""

from __future__ import annotations

import falcon

from imagecache.domain.ports import SecretLookup
from imagecache.web.error_responses import ApiError
from imagecache.web.signed_urls import signed_until

OPEN = frozenset(
    {"/health", "/health/live", "/favicon.ico", "/openapi.json", "/", "/v1", "/v1/cache_id", "/v1/cache/{cache_id}"}
)


class ApiKeyMiddleware:
    def __init__(self, keys: SecretLookup) -> None:
        self._keys = keys

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: object, params: dict[str, object]
    ) -> None:
        if req.method == "OPTIONS" or resource is None or req.uri_template in OPEN or signed_until(req) is not None:
            return
        scheme, _, key = (req.get_header("Authorization") or "").partition(" ")
        name = self._keys.lookup(key.strip()) if scheme.lower() == "bearer" and key.strip() else None
        if name is None:
            raise ApiError(
                401,
                "a valid API key is required: Authorization: Bearer <key>",
                loc="Authorization",
                kind="unauthorized",
                headers={"WWW-Authenticate": "Bearer"},
            )
        req.context.api_key_name = name

"""Optional API keys for the Kentik-style routes, /info and /metrics.

Off unless API_KEYS_FILE is set (the seed leaves auth to a proxy). Keys are
sent as `Authorization: Bearer <key>` and stored hashed (`sha256(key) name`).
/health, /favicon.ico and /v1 (which has its own tokens) stay open.

The check runs after routing and looks at the route that was matched, not at
the raw path: `//info`, `/./info` and `/%69nfo` reach the same resource as
`/info`, so they must meet the same guard.
"""

from __future__ import annotations

import falcon

from imagecache.errors import ApiError
from imagecache.secrets_file import HashedSecrets

PROTECTED = frozenset({"/requests", "/requests/{entry_id}", "/image/{entry_id}", "/info", "/metrics"})


class ApiKeyMiddleware:
    def __init__(self, keys: HashedSecrets) -> None:
        self._keys = keys

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: object, params: dict[str, object]
    ) -> None:
        if req.method == "OPTIONS" or req.uri_template not in PROTECTED:
            return
        scheme, _, key = (req.get_header("Authorization") or "").partition(" ")
        name = self._keys.lookup(key.strip()) if scheme.lower() == "bearer" and key.strip() else None
        if name is None:
            raise ApiError(401, "a valid API key is required: Authorization: Bearer <key>", loc="Authorization",
                           kind="unauthorized", headers={"WWW-Authenticate": "Bearer"})
        req.context.api_key_name = name

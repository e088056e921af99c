"""create_app: wires the HTTP resources to the runtime's services."""

from __future__ import annotations

from importlib import resources
from typing import Any

import falcon

from imagecache import errors
from imagecache.api_keys import ApiKeyMiddleware
from imagecache.blobs import SourceInterrupted
from imagecache.guarded_bodies import BodyStalled, GuardedBodyMiddleware, body_broke_off, body_stalled
from imagecache.health import HealthResource
from imagecache.images import ImageResource, RequestsResource
from imagecache.info import InfoResource
from imagecache.metrics import HttpMetricsMiddleware, MetricsResource
from imagecache.openapi import OpenApiResource
from imagecache.runtime import Runtime
from imagecache.secrets_file import HashedSecrets
from imagecache.tracing import RequestIdMiddleware
from imagecache.v1 import Authenticator, CacheFileResource, CacheIdResource, RoutesResource, VersionsResource


class FaviconResource:
    def __init__(self) -> None:
        self._icon = resources.files("imagecache").joinpath("assets/favicon.ico").read_bytes()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = "image/x-icon"
        resp.cache_control = ["max-age=86400"]
        resp.data = self._icon


def create_app(runtime: Runtime) -> falcon.App:
    config = runtime.config
    middleware: list[Any] = [
        RequestIdMiddleware(),
        HttpMetricsMiddleware(),
        GuardedBodyMiddleware(config.body_stall_timeout),
    ]
    if config.api_keys_file:
        middleware.append(ApiKeyMiddleware(HashedSecrets(config.api_keys_file)))
    if config.cors_origins:
        origins = "*" if config.cors_origins == ["*"] else config.cors_origins
        middleware.append(falcon.CORSMiddleware(allow_origins=origins, expose_headers=["ETag", "Content-Range"]))
    app = falcon.App(middleware=middleware)
    errors.install(app)
    app.add_error_handler(BodyStalled, body_stalled)
    app.add_error_handler(SourceInterrupted, body_broke_off)

    cache = runtime.cache
    requests = RequestsResource(cache, config.max_body_bytes)
    app.add_route("/requests", requests)
    app.add_route("/requests/{entry_id}", requests, suffix="entry")
    app.add_route("/image/{entry_id}", ImageResource(cache, config.wait_timeout))
    app.add_route("/info", InfoResource(cache, "kentik" if config.kentik_enabled else "local"))
    app.add_route("/favicon.ico", FaviconResource())
    app.add_route("/metrics", MetricsResource(cache))
    app.add_route("/openapi.json", OpenApiResource(config))
    auth = Authenticator(runtime.authority)
    files = runtime.files
    app.add_route("/", VersionsResource())
    app.add_route("/v1", RoutesResource())
    app.add_route("/v1/cache_id", CacheIdResource(files, auth, config.max_body_bytes))
    app.add_route("/v1/cache/{cache_id}", CacheFileResource(files, auth))
    health = HealthResource({"redis": runtime.redis.ping, "storage": runtime.blobs.check})
    app.add_route("/health", health)
    app.add_route("/health/live", health, suffix="live")
    return app

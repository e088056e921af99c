"""create_app: the Falcon app over the services, in the shape of Falcon's asgilook tutorial.

The resources are thin: each turns HTTP into a call on a service and the answer
back into HTTP. What they call is handed in as WebServices, which the
composition root (composition.py) builds from the configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import falcon

from imagecache.config import Config
from imagecache.domain.errors import SourceInterrupted
from imagecache.domain.ports import SecretLookup, TokenAuthority
from imagecache.services.file_cache import FileCache
from imagecache.services.image_cache import ImageCache
from imagecache.services.statistics import CacheStatistics
from imagecache.services.tag_purge import TagPurge
from imagecache.web import cache_status, error_responses
from imagecache.web.admission import WaitAdmission, WaitLimits
from imagecache.web.bodies.stall_guard import BodyStalled, GuardedBodyMiddleware, body_broke_off, body_stalled
from imagecache.web.contract.openapi import SwitchedOn
from imagecache.web.contract.requests import Contract
from imagecache.web.middleware.api_keys import ApiKeyMiddleware
from imagecache.web.middleware.cors import Cors
from imagecache.web.middleware.request_ids import RequestIdMiddleware
from imagecache.web.resources.events import EventsResource
from imagecache.web.resources.favicon import FaviconResource
from imagecache.web.resources.health import HealthResource
from imagecache.web.resources.image_requests import ImageResource, JobsResource, RequestsResource
from imagecache.web.resources.info import InfoEntryResource, InfoResource
from imagecache.web.resources.metrics import HttpMetricsMiddleware, MetricsResource
from imagecache.web.resources.openapi import OpenApiResource
from imagecache.web.resources.purge import PurgeResource
from imagecache.web.resources.v1 import (
    Authenticator,
    CacheFileResource,
    CacheIdResource,
    RoutesResource,
    VersionsResource,
)
from imagecache.web.signed_urls import SignedUrlMiddleware, UrlSigner


@dataclass(frozen=True)
class WebServices:
    """Everything the HTTP resources call."""

    config: Config
    images: ImageCache
    purge: TagPurge
    files: FileCache
    statistics: CacheStatistics
    authority: TokenAuthority
    api_keys: SecretLookup | None  # None: API keys are off
    health_checks: Mapping[str, Callable[[], object]]  # what /health asks, by name; each raises when down


def create_app(services: WebServices) -> falcon.App:
    config = services.config
    signer = UrlSigner(config.signed_url_keys) if config.signed_url_keys else None  # None: signed URLs are off
    app = falcon.App(middleware=_middleware(services, signer))
    error_responses.install(app)
    app.add_error_handler(BodyStalled, body_stalled)
    app.add_error_handler(SourceInterrupted, body_broke_off)

    images = services.images
    waits = WaitAdmission(WaitLimits(config.waits_per_process, config.waits_per_client, config.trusted_proxy_networks))
    contract = Contract.of(config)
    requests = RequestsResource(images, contract, config.max_body_bytes, waits, signer)
    app.add_route("/requests", requests)
    app.add_route("/requests/{entry_id}", requests, suffix="entry")
    app.add_route("/image/{entry_id}", ImageResource(images, config.wait_timeout, waits))
    app.add_route("/jobs", JobsResource(images))
    app.add_route("/events", EventsResource(images, contract, config.max_body_bytes, waits))
    app.add_route("/purge", PurgeResource(services.purge, config.max_body_bytes))
    renderer = "kentik" if config.kentik_enabled else "local"
    app.add_route("/info", InfoResource(images, services.statistics, renderer))
    app.add_route("/info/entries/{entry_id}", InfoEntryResource(images))
    app.add_route("/favicon.ico", FaviconResource())
    app.add_route("/metrics", MetricsResource(services.statistics))
    switched_on = SwitchedOn(callbacks=config.callback_targets.enabled, signed_urls=signer is not None)
    served = OpenApiResource(contract, switched_on, lambda: [k.name for k in images.job_kinds()])
    app.add_route("/openapi.json", served)
    auth = Authenticator(services.authority)
    app.add_route("/", VersionsResource())
    app.add_route("/v1", RoutesResource())
    app.add_route("/v1/cache_id", CacheIdResource(services.files, auth, config.max_body_bytes))
    app.add_route("/v1/cache/{cache_id}", CacheFileResource(services.files, auth))
    health = HealthResource(services.health_checks)
    app.add_route("/health", health)
    app.add_route("/health/live", health, suffix="live")
    return app


def _middleware(services: WebServices, signer: UrlSigner | None) -> list[Any]:
    config = services.config
    middleware: list[Any] = [
        RequestIdMiddleware(),
        HttpMetricsMiddleware(),
        GuardedBodyMiddleware(config.body_stall_timeout),
    ]
    if signer is not None:  # before the API-key guard: a signed request is judged by its signature alone
        middleware.append(SignedUrlMiddleware(signer))
    if services.api_keys is not None:
        middleware.append(ApiKeyMiddleware(services.api_keys))
    if config.cors_origins:
        origins = "*" if config.cors_origins == ["*"] else config.cors_origins
        middleware.append(Cors(allow_origins=origins, expose_headers=["ETag", "Content-Range", cache_status.HEADER]))
    return middleware

"""/openapi.json, made from the contract's models: each body and query schema is the model that checks it.

What the models cannot know is live state, said in the descriptions: a job
kind no live worker runs, a callback host not allowed, a query its kind
refuses, tags past what an entry carries. Two pieces of it are in the document itself: `job` lists the kinds
served when the document is asked for, and `callback_url` is absent where
callbacks are off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import falcon
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from imagecache.domain.file_record import CACHE_ID_PATTERN
from imagecache.jobs.kinds.image_types import MIME_TYPES
from imagecache.web import cache_status, signed_urls
from imagecache.web.contract import answers
from imagecache.web.contract.requests import CacheIdParams, Contract, EventIds, InfoQuery, PurgeRequest
from imagecache_client.ids import ENTRY_ID_PATTERN

IMAGE_TYPES = sorted(set(MIME_TYPES.values()))  # the built-in kinds'; another kind's are its own
KENTIK_REFUSALS = (400, 401, 503)
SIGNED_URL_PARAMETERS = [
    {
        "name": name,
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": f"with SIGNED_URL_SECRET set: {meaning}, as a request's `signed_url` gives it; then no API key "
        "is needed, and a changed or expired one is a 403",
    }
    for name, meaning in (
        (signed_urls.EXPIRES, "when the signed URL ends, Unix seconds"),
        (signed_urls.SIG, "its signature"),
    )
]
JSON = falcon.MEDIA_JSON
BINARY = {"type": "string", "format": "binary"}


class SchemaBook:
    """The models a document names, gathered as it is written, then made into its components in one pass (where
    pydantic settles each model's name)."""

    def __init__(self) -> None:
        self._refs: dict[tuple[type[BaseModel], str], dict[str, Any]] = {}

    def ref(self, model: type[BaseModel], mode: str = "serialization") -> dict[str, Any]:
        return self._refs.setdefault((model, mode), {})

    def components(self) -> dict[str, Any]:
        keys = list(self._refs)
        found, defs = models_json_schema(keys, ref_template="#/components/schemas/{model}")  # type: ignore[arg-type]
        for key in keys:
            self._refs[key].update(found[key])  # type: ignore[index]
        return dict(defs.get("$defs", {}))


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The model's fields as query parameters (an optional one's null left out: a query string has none)."""
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    parameters = []
    for name, field in schema["properties"].items():
        branches = [branch for branch in field.get("anyOf", [field]) if branch.get("type") != "null"]
        shape = {key: value for key, value in branches[0].items() if key != "title"}
        if field.get("default") is not None:
            shape["default"] = field["default"]
        parameter = {"name": name, "in": "query", "required": name in required, "schema": shape}
        if "description" in field:
            parameter["description"] = field["description"]
        parameters.append(parameter)
    return parameters


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _binary(types: Sequence[str], description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {kind: {"schema": BINARY} for kind in types},
    }


def _with_cache_status(response: dict[str, Any]) -> dict[str, Any]:
    header = {"description": cache_status.described(), "schema": {"type": "string"}}
    return {**response, "headers": {cache_status.HEADER: header}}


def _path(name: str, pattern: str, description: str) -> dict[str, Any]:
    schema = {"type": "string", "pattern": pattern}
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


def _links(parameter: str, source: str, *operations: str) -> dict[str, Any]:
    """Which operations take the id this answer carries (for clients, and schemathesis's stateful phase)."""
    return {operation: {"operationId": operation, "parameters": {parameter: source}} for operation in operations}


@dataclass(frozen=True)
class SwitchedOn:
    """The optional features a deployment has on; a request field of one that is off is described as null."""

    callbacks: bool = True  # CALLBACK_ALLOWED_HOSTS
    signed_urls: bool = True  # SIGNED_URL_SECRET


class OpenApiDocument:
    """The document for one deployment (its Contract, what it has switched on) and the job kinds served."""

    def __init__(self, contract: Contract, switched_on: SwitchedOn, kinds: Sequence[str]) -> None:
        self._contract = contract
        self._switched_on = switched_on
        self._kinds = list(kinds)
        self._book = SchemaBook()

    def build(self) -> dict[str, Any]:
        paths = {**self._kentik_paths(), **self._plain_paths(), **self._file_paths()}
        components = self._book.components()
        self._live_state(components[self._contract.image_request.__name__]["properties"])
        return {
            "openapi": "3.1.0",
            "info": {
                "title": "imagecache",
                "version": "1",
                "description": "Job-result cache: a Kentik-compatible image cache and a KBase "
                "CachingService-compatible file cache.",
            },
            "paths": paths,
            "components": {"schemas": components},
        }

    def _live_state(self, request: dict[str, Any]) -> None:
        job = request["job"]
        job["anyOf"] = [{"enum": self._kinds}, {"type": "null"}]
        if not self._switched_on.callbacks:
            request["callback_url"] = {"type": "null", "description": "callbacks are off here (CALLBACK_ALLOWED_HOSTS)"}
        if not self._switched_on.signed_urls:
            request["signed_url_ttl"] = {"type": "null", "description": "signed URLs are off here (SIGNED_URL_SECRET)"}

    def _errors(self, model: type[BaseModel], *statuses: int) -> dict[str, Any]:
        schema = self._book.ref(model)
        return {str(status): _json(schema, falcon.code_to_http_status(status)[4:]) for status in statuses}

    def _body(self, model: type[BaseModel]) -> dict[str, Any]:
        return {"required": True, "content": {JSON: {"schema": self._book.ref(model, "validation")}}}

    def _answer(self, model: type[BaseModel], description: str) -> dict[str, Any]:
        return _json(self._book.ref(model), description)

    def _kentik_paths(self) -> dict[str, Any]:
        contract = self._contract
        entry_id = _path("entry_id", ENTRY_ID_PATTERN, "sha256(query)_expiry")
        event = {
            "type": "object",
            "required": ["event", "data"],
            "properties": {"event": {"enum": ["entry", "progress", "done"]}, "data": {"type": "string"}},
        }
        event_stream = {
            "description": "text/event-stream: `event: entry` with {id, status, size, type} per entry as it "
            "settles (`event: progress` with {id, fraction, message} meanwhile, from a job that reports it), then "
            "`event: done`",
            "content": {"text/event-stream": {"schema": event}},
        }
        created = _with_cache_status(
            {
                **self._answer(answers.Created, "the entry serving this query"),
                "links": _links("entry_id", "$response.body#/id", "getImage", "headImage", "getRequest"),
            }
        )
        return {
            "/requests": {
                "post": {
                    "operationId": "createRequest",
                    "summary": "ask for a result; answers at once with its entry",
                    "requestBody": self._body(contract.image_request),
                    "responses": {
                        "200": created,
                        **self._errors(answers.KentikError, *KENTIK_REFUSALS, 413),
                        "429": _json(
                            self._book.ref(answers.KentikError),
                            "the tenant's quota has no room for a new production: type `over_quota`, loc the quota"
                            " (`fresh_per_minute` or `pending`), with Retry-After",
                        ),
                    },
                }
            },
            "/requests/{entry_id}": {
                "get": {
                    "operationId": "getRequest",
                    "summary": "an entry's status, at once or once settled (wait)",
                    "parameters": [entry_id, *query_parameters(contract.entry_query)],
                    "responses": {
                        "200": self._answer(answers.EntryView, "the entry"),
                        **self._errors(answers.KentikError, *KENTIK_REFUSALS, 404, 414, 429),
                    },
                }
            },
            "/image/{entry_id}": {
                "get": self._image_operation("getImage", "the result; waits while pending", entry_id),
                "head": self._image_operation("headImage", "the result's headers", entry_id),
            },
            "/events": {
                "get": {
                    "summary": "a server-sent event stream: one event per entry as it settles, then done",
                    "parameters": query_parameters(contract.events_query),
                    "responses": {"200": event_stream, **self._errors(answers.KentikError, *KENTIK_REFUSALS, 414, 429)},
                },
                "post": {
                    "summary": "the same stream for ids sent in the body",
                    "parameters": query_parameters(contract.events_wait),
                    "requestBody": self._body(EventIds),
                    "responses": {"200": event_stream, **self._errors(answers.KentikError, *KENTIK_REFUSALS, 413, 429)},
                },
            },
            "/purge": {
                "post": {
                    "summary": "remove (or, soft, mark stale) every entry carrying any of the tags",
                    "requestBody": self._body(PurgeRequest),
                    "responses": {
                        "200": self._answer(answers.Purged, "what was purged"),
                        **self._errors(answers.KentikError, *KENTIK_REFUSALS, 413),
                    },
                }
            },
            "/jobs": {
                "get": {
                    "summary": "the job kinds a request may name now, with their settings",
                    "responses": {
                        "200": self._answer(answers.Jobs, "the served kinds"),
                        **self._errors(answers.KentikError, 401, 503),
                    },
                }
            },
            "/info": {
                "get": {
                    "summary": "counts, statistics and a page of entries (an HTML page for browsers)",
                    "parameters": query_parameters(InfoQuery),
                    "responses": {
                        "200": {
                            "description": "the cache",
                            "content": {
                                JSON: {"schema": self._book.ref(answers.Info)},
                                "text/html": {"schema": {"type": "string"}},
                            },
                        },
                        **self._errors(answers.KentikError, *KENTIK_REFUSALS, 414),
                    },
                }
            },
            "/info/entries/{entry_id}": {
                "get": {
                    "operationId": "getEntryPage",
                    "summary": "one entry for people: status, kind, tags, size, query, times and a preview",
                    "parameters": [entry_id],
                    "responses": {
                        "200": {"description": "the page", "content": {"text/html": {"schema": {"type": "string"}}}},
                        **self._errors(answers.KentikError, 401, 404, 503),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {
                        "200": {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}},
                        **self._errors(answers.KentikError, 401, 503),
                    },
                }
            },
        }

    def _image_operation(self, operation_id: str, summary: str, entry_id: dict[str, Any]) -> dict[str, Any]:
        return {
            "operationId": operation_id,
            "summary": summary,
            "parameters": [entry_id, *SIGNED_URL_PARAMETERS],
            "responses": {
                "200": _with_cache_status(_binary(IMAGE_TYPES, "the image")),
                "206": _with_cache_status(_binary(IMAGE_TYPES, "a byte range of the image")),
                "304": _with_cache_status({"description": "not modified (If-None-Match)"}),
                "default": _with_cache_status(
                    _json(
                        self._book.ref(answers.KentikError),
                        "an error entry answers with the upstream's status; 403 a signed URL changed or expired, "
                        "404 unknown or expired id, 414 URL too long, 416 bad range, 429 too many waits, 502/504 "
                        "upstream, 503/507 storage",
                    )
                ),
            },
        }

    def _plain_paths(self) -> dict[str, Any]:
        def simple(summary: str, model: type[BaseModel], description: str) -> dict[str, Any]:
            return {"get": {"summary": summary, "responses": {"200": self._answer(model, description)}}}

        health = simple("readiness", answers.Health, "ready")
        health["get"]["responses"]["503"] = self._answer(answers.Health, "names what is down")
        return {
            "/favicon.ico": {"get": {"summary": "the icon", "responses": {"200": _binary(["image/x-icon"], "icon")}}},
            "/health": health,
            "/health/live": simple("liveness", answers.Live, "live"),
            "/openapi.json": {
                "get": {"summary": "this document", "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")}}
            },
            "/": simple("API versions", answers.Versions, "versions"),
            "/v1": simple("the /v1 routes", answers.Routes, "routes"),
        }

    def _file_paths(self) -> dict[str, Any]:
        created = {
            **self._answer(answers.CacheId, "the cache id"),
            "links": _links("cache_id", "$response.body#/cache_id", "uploadFile", "getFile", "headFile", "deleteFile"),
        }
        return {
            "/v1/cache_id": {
                "post": {
                    "operationId": "createCacheId",
                    "summary": "the cache id for these parameters (and its metadata)",
                    "parameters": [AUTH_HEADER],
                    "requestBody": self._body(CacheIdParams),
                    "responses": {"200": created, **self._errors(answers.FileError, 400, 403, 413, 503)},
                }
            },
            "/v1/cache/{cache_id}": {
                "get": self._file_operation("getFile", "download the file", _binary(["*/*"], "the file"), 416),
                "head": self._file_operation("headFile", "the file's headers", {"description": "headers"}, 416),
                "post": self._file_operation(
                    "uploadFile",
                    "upload the file (multipart field 'file')",
                    self._answer(answers.FileStored, "stored"),
                    411,
                    413,
                    507,
                    upload=True,
                ),
                "delete": self._file_operation(
                    "deleteFile", "delete the cache", self._answer(answers.FileOk, "deleted")
                ),
            },
        }

    def _file_operation(
        self, operation_id: str, summary: str, ok: dict[str, Any], *statuses: int, upload: bool = False
    ) -> dict[str, Any]:
        responses = {"200": ok, **self._errors(answers.FileError, 400, 403, 404, 405, 503, *statuses)}
        operation: dict[str, Any] = {
            "operationId": operation_id,
            "summary": summary,
            "parameters": [_path("cache_id", CACHE_ID_PATTERN, "the id POST /v1/cache_id gave"), AUTH_HEADER],
            "responses": responses,
        }
        if upload:
            form = {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
            operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": form}}}
        else:
            responses["304"] = {"description": "not modified (If-None-Match)"}
        return operation


AUTH_HEADER = {
    "name": "Authorization",
    "in": "header",
    "required": True,
    "schema": {"type": "string"},
    "description": "a KBase token (AUTH_MODE=kbase) or a static token",
}

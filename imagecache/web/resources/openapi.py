"""The OpenAPI 3 description of every route, served at /openapi.json.

Kept beside the resources it describes and checked against the live app by
tests (every route here exists there and the other way round) and by a
schemathesis run (every answer is one this document allows).
"""

from __future__ import annotations

from typing import Any

import falcon

from imagecache.config import Config
from imagecache.web.resources.openapi_schemas import (
    ENTRY,
    ENTRY_IDS,
    EVENT_STREAM,
    FILE_ERROR,
    IMAGE_TYPES,
    JOB_KIND,
    KENTIK_ERROR,
    TAGS,
    WAIT_PARAM,
)


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(schema: dict[str, Any], *statuses: int) -> dict[str, Any]:
    return {str(status): _json(schema, falcon.code_to_http_status(status)[4:]) for status in statuses}


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _binary(types: list[str], description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {kind: {"schema": {"type": "string", "format": "binary"}} for kind in types},
    }


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "description": description}


AUTH_HEADER = {
    "name": "Authorization",
    "in": "header",
    "required": True,
    "schema": {"type": "string"},
    "description": "a KBase token (AUTH_MODE=kbase) or a static token",
}


def _links(parameter: str, source: str, *operations: str) -> dict[str, Any]:
    """Tell clients (and schemathesis) which operations take the id this answer carries."""
    return {operation: {"operationId": operation, "parameters": {parameter: source}} for operation in operations}


def _image_operation(operation_id: str, summary: str) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "parameters": [_path_param("entry_id", "sha256(query)_expiry")],
        "responses": {
            "200": _binary(IMAGE_TYPES, "the image"),
            "206": _binary(IMAGE_TYPES, "a byte range of the image"),
            "304": {"description": "not modified (If-None-Match)"},
            "default": _json(
                KENTIK_ERROR,
                "an error entry answers with the upstream's status; 404 unknown or "
                "expired id, 416 bad range, 502/504 upstream, 503/507 storage",
            ),
        },
    }


def _file_operation(
    operation_id: str, summary: str, ok: dict[str, Any], *statuses: int, body: bool = False
) -> dict[str, Any]:
    responses = {"200": ok, **_errors(FILE_ERROR, 400, 403, 404, 405, 503, *statuses)}
    if not body:
        responses["304"] = {"description": "not modified (If-None-Match)"}
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "parameters": [_path_param("cache_id", "128 hex characters"), AUTH_HEADER],
        "responses": responses,
    }
    if body:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    return operation


def build_spec(config: Config) -> dict[str, Any]:
    request_body = {
        "type": "object",
        "required": ["api_query"],
        "properties": {
            "api_query": {"type": "object", "description": "Kentik topXchart query (opaque JSON)"},
            "ttl": {"type": "integer", "minimum": 1, "maximum": config.max_ttl},
            "max_age": {"type": "integer", "minimum": 0},
            "refresh": {"type": "boolean"},
            "stale_while_revalidate": {
                "type": "integer",
                "minimum": 0,
                "description": "seconds past max_age a result may answer while one background refresh runs",
            },
            "stale_if_error": {
                "type": "integer",
                "minimum": 0,
                "description": "seconds past max_age the last good result answers instead of a failed refresh",
            },
            "tags": {**TAGS, "description": "tags the result carries, for POST /purge"},
            "callback_url": {
                "type": "string",
                "maxLength": 2048,
                "description": "POSTed to (signed) when the entry settles; its host must be in CALLBACK_ALLOWED_HOSTS",
            },
            "job": {
                "type": "string",
                "minLength": 1,
                "maxLength": 64,
                "description": "the job kind (GET /jobs); omitted: the deployment's default, kentik or chart",
            },
        },
    }
    created = {
        "type": "object",
        "required": ["id", "status", "expires_at"],
        "properties": {
            "id": {"type": "string"},
            "status": {"enum": ["pending", "active", "error", "stale"]},
            "expires_at": {"type": "number"},
        },
    }
    file_ok = {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}
    kentik_errors = (400, 401, 503)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "imagecache",
            "version": "1",
            "description": "Job-result cache: Kentik-compatible image "
            "cache and KBase CachingService-compatible file cache.",
        },
        "paths": {
            "/requests": {
                "post": {
                    "operationId": "createRequest",
                    "summary": "ask for a result; answers at once with its entry",
                    "requestBody": _json_body(request_body),
                    "responses": {
                        "200": {
                            **_json(created, "the entry serving this query"),
                            "links": _links("entry_id", "$response.body#/id", "getImage", "headImage", "getRequest"),
                        },
                        **_errors(KENTIK_ERROR, *kentik_errors, 413),
                    },
                }
            },
            "/requests/{entry_id}": {
                "get": {
                    "operationId": "getRequest",
                    "summary": "an entry's status, at once",
                    "parameters": [_path_param("entry_id", "sha256(query)_expiry"), WAIT_PARAM],
                    "responses": {"200": _json(ENTRY, "the entry"), **_errors(KENTIK_ERROR, *kentik_errors, 404)},
                }
            },
            "/image/{entry_id}": {
                "get": _image_operation("getImage", "the result; waits while pending"),
                "head": _image_operation("headImage", "the result's headers"),
            },
            "/events": {
                "get": {
                    "summary": "a server-sent event stream: one event per entry as it settles, then done",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "query",
                            "required": True,
                            "schema": ENTRY_IDS,
                            "style": "form",
                            "explode": True,
                        },
                        WAIT_PARAM,
                    ],
                    "responses": {"200": EVENT_STREAM, **_errors(KENTIK_ERROR, *kentik_errors, 414)},
                },
                "post": {
                    "summary": 'the same stream for ids sent as {"ids": [...]}',
                    "parameters": [WAIT_PARAM],
                    "requestBody": _json_body(
                        {"type": "object", "required": ["ids"], "properties": {"ids": ENTRY_IDS}}
                    ),
                    "responses": {"200": EVENT_STREAM, **_errors(KENTIK_ERROR, *kentik_errors, 413)},
                },
            },
            "/purge": {
                "post": {
                    "summary": "remove (or, soft, mark stale) every entry carrying any of the tags",
                    "requestBody": _json_body(
                        {
                            "type": "object",
                            "required": ["tags"],
                            "properties": {"tags": {**TAGS, "minItems": 1}, "soft": {"type": "boolean"}},
                        }
                    ),
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["purged", "soft"],
                                "properties": {"purged": {"type": "integer"}, "soft": {"type": "boolean"}},
                            },
                            "how many entries were removed (or marked stale)",
                        ),
                        **_errors(KENTIK_ERROR, *kentik_errors, 413),
                    },
                }
            },
            "/jobs": {
                "get": {
                    "summary": "the job kinds a request may name now, with their settings",
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["default", "jobs"],
                                "properties": {
                                    "default": {"type": "string"},
                                    "jobs": {"type": "array", "items": JOB_KIND},
                                },
                            },
                            "the served kinds",
                        ),
                        **_errors(KENTIK_ERROR, 401, 503),
                    },
                }
            },
            "/info": {
                "get": {
                    "summary": "counts, statistics and a page of entries",
                    "parameters": [
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": {
                            "description": "the cache (an HTML page for browsers)",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": [
                                            "active_count",
                                            "pending_count",
                                            "active_entries",
                                            "pending_entries",
                                            "next_cursor",
                                        ],
                                    }
                                },
                                "text/html": {"schema": {"type": "string"}},
                            },
                        },
                        **_errors(KENTIK_ERROR, *kentik_errors),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {
                        "200": {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}},
                        **_errors(KENTIK_ERROR, 401, 503),
                    },
                }
            },
            "/favicon.ico": {"get": {"summary": "the icon", "responses": {"200": _binary(["image/x-icon"], "icon")}}},
            "/health": {
                "get": {
                    "summary": "readiness",
                    "responses": {
                        "200": _json({"type": "object"}, "ready"),
                        "503": _json({"type": "object"}, "names what is down"),
                    },
                }
            },
            "/health/live": {"get": {"summary": "liveness", "responses": {"200": _json({"type": "object"}, "live")}}},
            "/openapi.json": {
                "get": {"summary": "this document", "responses": {"200": _json({"type": "object"}, "OpenAPI 3")}}
            },
            "/": {"get": {"summary": "API versions", "responses": {"200": _json({"type": "object"}, "versions")}}},
            "/v1": {"get": {"summary": "the /v1 routes", "responses": {"200": _json({"type": "object"}, "routes")}}},
            "/v1/cache_id": {
                "post": {
                    "operationId": "createCacheId",
                    "summary": "the cache id for these parameters (and its metadata)",
                    "parameters": [AUTH_HEADER],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"type": "object", "minProperties": 1}}},
                    },
                    "responses": {
                        "200": {
                            **_json({"type": "object", "required": ["cache_id", "status", "metadata"]}, "the cache id"),
                            "links": _links(
                                "cache_id",
                                "$response.body#/cache_id",
                                "uploadFile",
                                "getFile",
                                "headFile",
                                "deleteFile",
                            ),
                        },
                        **_errors(FILE_ERROR, 400, 403, 413, 503),
                    },
                }
            },
            "/v1/cache/{cache_id}": {
                "get": _file_operation("getFile", "download the file", _binary(["*/*"], "the file"), 416),
                "head": _file_operation("headFile", "the file's headers", {"description": "headers"}, 416),
                "post": _file_operation(
                    "uploadFile",
                    "upload the file (multipart field 'file')",
                    _json(file_ok, "stored"),
                    411,
                    413,
                    507,
                    body=True,
                ),
                "delete": _file_operation("deleteFile", "delete the cache", _json(file_ok, "deleted")),
            },
        },
    }


class OpenApiResource:
    def __init__(self, config: Config) -> None:
        self._spec = build_spec(config)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self._spec

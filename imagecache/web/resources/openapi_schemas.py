"""The schemas the OpenAPI description (openapi.py) uses in more than one place: error bodies, an entry, a job
kind, tags, an event stream."""

from __future__ import annotations

KENTIK_ERROR = {
    "type": "object",
    "required": ["type", "loc", "msg"],
    "properties": {"type": {"type": "string"}, "loc": {}, "msg": {"type": "string"}},
}
FILE_ERROR = {
    "type": "object",
    "required": ["status", "error"],
    "properties": {"status": {"const": "error"}, "error": {"type": "string"}},
}
ENTRY = {
    "type": "object",
    "required": ["id", "status", "created_at", "expires_at"],
    "properties": {
        "id": {"type": "string"},
        "status": {"enum": ["pending", "active", "error"]},
        "created_at": {"type": "number"},
        "expires_at": {"type": "number"},
        "content_type": {"type": "string"},
        "size": {"type": "integer"},
        "etag": {"type": "string"},
        "error": {"type": "object"},
        "job": {"type": "string", "description": "the job kind that produces it"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}
TAGS = {
    "type": "array",
    "maxItems": 16,
    "items": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[ -~]+$"},
    "description": "at most 16 tags of 1 to 128 printable characters",
}
JOB_KIND = {
    "type": "object",
    "required": ["name", "timeout", "retries", "concurrency", "default_ttl", "description"],
    "properties": {
        "name": {"type": "string"},
        "timeout": {"type": "integer", "description": "seconds one run may take, every attempt included"},
        "retries": {"type": "integer", "description": "transient failures tried again within a run"},
        "concurrency": {"type": "integer", "description": "runs at once across every worker host"},
        "default_ttl": {"type": "integer", "description": "seconds a result lives when the request names no ttl"},
        "description": {"type": "string"},
    },
}
ENTRY_IDS = {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 100}
WAIT_PARAM = {
    "name": "wait",
    "in": "query",
    "schema": {"type": "number", "minimum": 0},
    "description": "seconds to wait for the entry to settle, at most ENTRY_WAIT_TIMEOUT",
}
EVENT_STREAM = {
    "description": "text/event-stream: `event: entry` with {id, status, size, type} per entry, then `event: done`",
    "content": {
        "text/event-stream": {
            "schema": {
                "type": "object",
                "required": ["event", "data"],
                "properties": {"event": {"enum": ["entry", "done"]}, "data": {"type": "string"}},
            }
        }
    },
}
IMAGE_TYPES = ["image/png", "image/jpeg", "image/svg+xml", "application/pdf"]

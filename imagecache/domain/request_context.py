"""The request id: set by the web process, carried in the job, set again in the worker.

One id follows a request from web to worker, so its log lines can be found together.
"""

from __future__ import annotations

import contextvars
import re
import uuid

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def clean_request_id(value: str | None) -> str:
    """A caller's id if it is a plain token, else a new one (no log or header injection)."""
    return value if value and _REQUEST_ID.fullmatch(value) else uuid.uuid4().hex

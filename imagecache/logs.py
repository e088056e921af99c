"""Process-wide logging: readable text or one JSON object per line, with the request id.

The request id comes from X-Request-ID (or is made up) in the web process,
rides along in the RQ job, and is set again in the worker, so one id follows
a request from web to worker.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid

TEXT = "%(asctime)s %(levelname)-7s %(process)d %(name)s [%(request_id)s]: %(message)s"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def clean_request_id(value: str | None) -> str:
    """A caller's id if it is a plain token, else a new one (no log or header injection)."""
    return value if value and _REQUEST_ID.fullmatch(value) else uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "request_id": getattr(record, "request_id", request_id.get()),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT)


def setup_logging(debug: bool, log_format: str = "text") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format))
    handler.addFilter(RequestIdFilter())
    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO, handlers=[handler], force=True)
    for noisy in ("httpx", "httpcore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

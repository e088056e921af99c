"""Process-wide logging: readable text or one JSON object per line, with the request id.

The request id comes from X-Request-ID (or is made up) in the web process,
rides along in the RQ job, and is set again in the worker, so one id follows
a request from web to worker.
"""

from __future__ import annotations

import json
import logging

from imagecache.domain.request_context import request_id

TEXT = "%(asctime)s %(levelname)-7s %(process)d %(name)s [%(request_id)s]: %(message)s"
QUIETED = ("httpx", "httpcore", "urllib3")  # libraries that log each request at INFO: WARNING and up only


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
    _record_only_what_is_printed()
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format))
    handler.addFilter(RequestIdFilter())
    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO, handlers=[handler], force=True)
    for noisy in QUIETED:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _record_only_what_is_printed() -> None:
    """Neither format prints a source line, a thread or a multiprocessing name, so no record looks them up (the
    logging HOWTO's "Optimization"): finding the caller walks the stack on every line, a tenth of what a line
    costs the web. Without the caller, `stack_info=True` and `stacklevel` do nothing either."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False

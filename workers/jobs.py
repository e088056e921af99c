"""The RQ job functions. RQ imports them by name in the worker process."""

from __future__ import annotations

from imagecache.config import load_config
from imagecache.logs import request_id
from imagecache.runtime import Runtime

_runtime: Runtime | None = None


def install(runtime: Runtime) -> None:
    """Share the worker process's runtime with every job it runs."""
    global _runtime
    _runtime = runtime


def produce_entry(entry_id: str, request: str = "-") -> None:
    if _runtime is None:  # running under a plain `rq worker`
        install(Runtime(load_config()))
    assert _runtime is not None
    token = request_id.set(request)
    try:
        _runtime.producer.produce(entry_id)
    finally:
        request_id.reset(token)

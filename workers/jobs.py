"""The RQ job function, by the name jobs carry. Our worker (worker.py) calls the producer itself; this runs a job
taken by any other RQ worker (a plain `rq worker` on our queue)."""

from __future__ import annotations

from imagecache.composition import Components
from imagecache.config import load_config
from imagecache.domain.request_context import request_id

_components: Components | None = None


def produce_entry(entry_id: str, request: str, kind: str) -> None:
    """Produce the entry, logging under the request id that made it. `kind` is its job kind, which the queue's
    upstream cap is kept by; the producer reads the entry's own."""
    global _components
    if _components is None:
        _components = Components(load_config())
    token = request_id.set(request)
    try:
        _components.producer.produce(entry_id)
    finally:
        request_id.reset(token)

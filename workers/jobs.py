"""The RQ job functions. RQ imports them by name in the worker process."""

from __future__ import annotations

from imagecache.composition import Components
from imagecache.config import load_config
from imagecache.domain.request_context import request_id

_components: Components | None = None


def install(components: Components) -> None:
    """Share the worker process's components with every job it runs."""
    global _components
    _components = components


def produce_entry(entry_id: str, request: str = "-") -> None:
    if _components is None:  # running under a plain `rq worker`
        install(Components(load_config()))
    assert _components is not None
    token = request_id.set(request)
    try:
        _components.producer.produce(entry_id)
    finally:
        request_id.reset(token)

"""The Falcon app over real services (Redis under the test's prefix, blobs in a temporary directory), no gunicorn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from falcon import testing

from imagecache.composition import Components
from imagecache.config import load_config
from imagecache.web.app import create_app


@pytest.fixture
def components(redis_url: str, prefix: str, tmp_path: Path) -> Iterator[Components]:
    config = load_config(
        redis_url=redis_url,
        redis_prefix=prefix,
        cache_path=str(tmp_path / "cache"),
        auth_mode="static",
        auth_tokens_file=str(tmp_path / "tokens"),
        entry_wait_timeout=0.5,
        _env_file=None,
    )
    components = Components(config)
    yield components
    components.jobs.queue.empty()


@pytest.fixture
def client(components: Components) -> testing.TestClient:
    return testing.TestClient(create_app(components.web_services()))

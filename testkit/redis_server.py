"""A redis-server of a test's own (the same EmbeddedRedis `imagecache up` uses), on a port of its own."""

from __future__ import annotations

from pathlib import Path

from imagecache.ops.embedded_redis import EmbeddedRedis
from testkit.processes import free_port


class OwnRedis(EmbeddedRedis):
    def __init__(self, data_dir: Path, appendonly: bool = True) -> None:
        self.url = f"redis://127.0.0.1:{free_port()}/0"  # kept across restarts: clients reconnect to it
        super().__init__(self.url, data_dir, persistent=appendonly)

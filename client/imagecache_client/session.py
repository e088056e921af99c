"""What both clients hold: a connection to one server, the local cache, and how to show progress."""

from __future__ import annotations

from pathlib import Path
from typing import Self

import httpx

from imagecache_client.local import LocalCache
from imagecache_client.progress import Progress, Silent
from imagecache_client.transport import Connection


class Session:
    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        cache_dir: Path | str | None,
        max_bytes: int,
        http: httpx.Client | None,
        progress: Progress | None,
    ) -> None:
        self._conn = Connection(url, headers, http)
        self.server = self._conn.server
        self.local = LocalCache(cache_dir, max_bytes)
        self.progress = progress or Silent()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()
        self.local.close()

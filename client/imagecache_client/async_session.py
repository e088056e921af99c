"""What both asyncio clients hold: a connection to one server on httpx's AsyncClient, the local cache, and how to
show progress (session.py's Session, for asyncio)."""

from __future__ import annotations

from pathlib import Path
from typing import Self

import httpx

from imagecache_client.async_transport import AsyncConnection
from imagecache_client.local import LocalCache
from imagecache_client.progress import Progress, Silent


class AsyncSession:
    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        cache_dir: Path | str | None,
        max_bytes: int,
        http: httpx.AsyncClient | None,
        progress: Progress | None,
    ) -> None:
        self._conn = AsyncConnection(url, headers, http)
        self.server = self._conn.server
        self.local = LocalCache(cache_dir, max_bytes)
        self.progress = progress or Silent()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._conn.aclose()
        self.local.close()

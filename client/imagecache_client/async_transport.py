"""HTTP to one imagecache server from asyncio: transport.Connection's calls and errors on httpx's AsyncClient."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from imagecache_client.transport import DEFAULT_TIMEOUT, error_for, json_answer, server_key, translated


class AsyncConnection:
    """An httpx AsyncClient bound to one server, raising ClientError subclasses."""

    def __init__(self, url: str, headers: dict[str, str] | None = None, http: httpx.AsyncClient | None = None) -> None:
        self.server = server_key(url)
        self._headers = headers or {}
        self._given = http
        self._own: httpx.AsyncClient | None = None

    @property
    def _http(self) -> httpx.AsyncClient:
        """Made on first use: a call answered by the local cache never pays for TLS set-up."""
        if self._given is not None:
            return self._given
        if self._own is None:
            self._own = httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)
        return self._own

    async def aclose(self) -> None:
        if self._own is not None:
            await self._own.aclose()

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A whole (small) response, raised as an error when it is one."""
        async with self.stream(method, path, **kwargs) as response:
            await response.aread()
            return response

    async def call_json(self, method: str, path: str, required: tuple[str, ...] = (), **kwargs: Any) -> dict[str, Any]:
        """A JSON object answer holding the `required` fields; anything else is a bad answer, not a crash."""
        return json_answer(self.server, await self.call(method, path, **kwargs), path, required)

    @asynccontextmanager
    async def stream(
        self, method: str, path: str, ok: tuple[int, ...] = (), **kwargs: Any
    ) -> AsyncIterator[httpx.Response]:
        """A streamed response; statuses in `ok` (besides 2xx) are handed back, not raised."""
        headers = {**self._headers, **kwargs.pop("headers", {})}
        with translated(self.server):
            async with self._http.stream(method, self.server + path, headers=headers, **kwargs) as got:
                if not (got.is_success or got.status_code in ok):
                    await got.aread()
                    raise error_for(got)
                yield got

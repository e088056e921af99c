"""AsyncImageCacheClient: ImageCacheClient's methods, errors and local cache, for asyncio, on httpx's AsyncClient.

The local cache's SQLite and disk work runs in threads (asyncio.to_thread), never on the event loop, so a thousand
fetches of cached results from one loop go on together, and a loop serving others is never held by the disk.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from imagecache_client.async_session import AsyncSession
from imagecache_client.errors import NotFound, Timeout, Unavailable
from imagecache_client.ids import EntryId, query_digest
from imagecache_client.images import (
    FAILURES,
    INFO_HEADERS,
    PLAIN,
    Entry,
    EntryEvents,
    Extras,
    ImageRequest,
    entry_of,
    image_error,
    produced_at,
    request_body,
    status_options,
    still_pending,
)
from imagecache_client.local import DEFAULT_MAX_BYTES, Fetched, LocalImage, offline_copy
from imagecache_client.progress import Progress
from imagecache_client.transfer import CHUNK, check_received, content_length
from imagecache_client.transport import DEFAULT_TIMEOUT


class AsyncImageCacheClient(AsyncSession):
    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        cache_dir: Path | str | None = None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        wait_timeout: float = 600.0,
        http: httpx.AsyncClient | None = None,
        progress: Progress | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        super().__init__(url, headers, cache_dir, max_bytes, http, progress)
        self.wait_timeout = wait_timeout

    async def request(
        self,
        query: dict[str, Any],
        ttl: int | None = None,
        max_age: int | None = None,
        refresh: bool = False,
        extras: Extras = PLAIN,
    ) -> Entry:
        """Ask for a result; answers at once with the entry that will hold it."""
        body = request_body(ImageRequest(query, ttl, max_age), refresh, extras)
        return entry_of(self.server, await self._conn.call("POST", "/requests", json=body))

    async def image(self, entry_id: str) -> bytes:
        """The image's bytes, waiting while it is produced (kept locally until its expiry)."""
        return await asyncio.to_thread((await self.fetch_id(entry_id)).path.read_bytes)

    async def fetch(
        self,
        query: dict[str, Any],
        ttl: int | None = None,
        max_age: int | None = None,
        refresh: bool = False,
        extras: Extras = PLAIN,
    ) -> Path:
        """The local path of the query's image: the local copy if unexpired, else requested and downloaded."""
        return (await self.fetch_entry(query, ttl=ttl, max_age=max_age, refresh=refresh, extras=extras)).path

    async def fetch_entry(
        self,
        query: dict[str, Any],
        ttl: int | None = None,
        max_age: int | None = None,
        refresh: bool = False,
        extras: Extras = PLAIN,
    ) -> Fetched:
        if not refresh and (copy := await self.local_copy(query, max_age, extras.job)):
            return copy
        try:
            entry = await self.request(query, ttl=ttl, max_age=max_age, refresh=refresh, extras=extras)
            return await self.fetch_id(entry.id)
        except (Unavailable, Timeout) as exc:
            missing = "the local cache has no unexpired copy of this query's image"
            return offline_copy(exc, await self.local_copy(query, job=extras.job), missing)

    async def local_copy(
        self, query: dict[str, Any], max_age: int | None = None, job: str | None = None
    ) -> Fetched | None:
        """The query's unexpired image if the local cache has it (found by the query's hash, offline)."""
        copy = await asyncio.to_thread(self.local.image_for_query, self.server, query_digest(query, job), max_age)
        return Fetched(copy.path, copy.size, True) if copy else None

    async def status(self, entry_id: str, wait: float | None = None) -> dict[str, Any]:
        """The entry's status at once, or (`wait`) as soon as it settles or after that many seconds."""
        params, timeout = status_options(wait)
        return await self._conn.call_json(
            "GET", f"/requests/{entry_id}", ("id", "status"), params=params, timeout=timeout
        )

    async def events(self, entry_ids: list[str], wait: float | None = None) -> AsyncIterator[dict[str, Any]]:
        """Each entry's {id, status, size, type} as it settles (or, when `wait` runs out, as it stands), over one
        server-sent event stream."""
        params = {"wait": wait} if wait is not None else {}
        timeout = httpx.Timeout(DEFAULT_TIMEOUT.connect, read=None)
        body = {"ids": entry_ids}
        async with self._conn.stream("POST", "/events", json=body, params=params, timeout=timeout) as stream:
            events = EntryEvents()
            async for line in stream.aiter_lines():
                if (entry := events.read(line)) is not None:
                    yield entry

    async def purge(self, tags: list[str], soft: bool = False) -> int:
        """Remove (or, soft, mark stale) every result carrying any of the tags; how many."""
        answer = await self._conn.call_json("POST", "/purge", ("purged",), json={"tags": tags, "soft": soft})
        return int(answer["purged"])

    async def jobs(self) -> dict[str, Any]:
        """The job kinds the server runs now, with their settings, and its default."""
        return await self._conn.call_json("GET", "/jobs", ("default", "jobs"))

    async def fetch_id(self, entry_id: str) -> Fetched:
        """The image in the local cache, downloaded (after waiting for it) unless it is already there."""
        if EntryId.parse(entry_id) is None:
            raise NotFound(f"not an image id: {entry_id!r}", 404)
        copy = await asyncio.to_thread(self.local.image, self.server, entry_id)
        if copy is not None:
            return Fetched(copy.path, copy.size, True)
        image = await self._download(entry_id)
        return Fetched(image.path, image.size, False)

    async def info(self, limit: int | None = None, cursor: str | None = None) -> dict[str, Any]:
        """The server's /info: counts, bytes, hit ratio, a page of entries."""
        params = {k: v for k, v in (("limit", limit), ("cursor", cursor)) if v is not None}
        return await self._conn.call_json("GET", "/info", params=params, headers=INFO_HEADERS)

    async def _download(self, entry_id: str) -> LocalImage:
        """Ask until the server stops saying "still pending", within wait_timeout in all."""
        deadline = time.monotonic() + self.wait_timeout
        while (remaining := deadline - time.monotonic()) > 0:
            timeout = httpx.Timeout(DEFAULT_TIMEOUT.connect, read=remaining)
            try:
                async with self._conn.stream("GET", f"/image/{entry_id}", ok=FAILURES, timeout=timeout) as response:
                    if response.is_success:
                        return await self._store(response, entry_id)
                    await response.aread()
                    if not still_pending(response):
                        raise image_error(response)
            except Timeout:
                if time.monotonic() < deadline:
                    raise  # the server did not answer (connect, a stalled body): not a wait that ran out
                break
            await asyncio.sleep(min(0.1, remaining))
        raise Timeout(f"image {entry_id} was not ready within {self.wait_timeout:g} s")

    async def _store(self, response: httpx.Response, entry_id: str) -> LocalImage:
        content_type = response.headers.get("Content-Type", "application/octet-stream")
        with self.local.writer() as writer, self.progress.transfer(entry_id[:12], content_length(response)) as advance:
            async for chunk in response.aiter_bytes(CHUNK):
                await asyncio.to_thread(writer.write, chunk)
                advance(len(chunk))
            await asyncio.to_thread(check_received, response, writer)  # waits on the hashing thread
            return await asyncio.to_thread(
                self.local.store_image, self.server, entry_id, produced_at(response), content_type, writer
            )

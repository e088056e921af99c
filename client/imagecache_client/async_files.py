"""AsyncFileCacheClient: FileCacheClient's methods, errors and local cache for asyncio, on httpx's AsyncClient.

The local cache's SQLite, disk and lock work runs in threads, never on the event loop. `cached` and `memoize`
take a producer that is a coroutine function (awaited) or a plain one (run in a thread).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from imagecache_client.async_session import AsyncSession
from imagecache_client.errors import ClientError, NotFound, Timeout, Unavailable
from imagecache_client.files import (
    DAY,
    Uploaded,
    fetched_copy,
    file_path,
    filename_of,
    guessed_type,
    memoizable,
    memoized_params,
    owner_of,
    params_key,
)
from imagecache_client.ids import canonical_json
from imagecache_client.local import DEFAULT_MAX_BYTES, BlobWriter, Fetched, LocalFile, offline_copy
from imagecache_client.progress import Advance, Progress
from imagecache_client.transfer import CHUNK, check_received, content_length, form

log = logging.getLogger("imagecache.client")

Produce = Callable[[Path], object] | Callable[[Path], Awaitable[object]]


class AsyncFileCacheClient(AsyncSession):
    def __init__(
        self,
        url: str,
        token: str,
        cache_dir: Path | str | None = None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        revalidate_after: float = DAY,
        http: httpx.AsyncClient | None = None,
        progress: Progress | None = None,
    ) -> None:
        super().__init__(url, {"Authorization": token}, cache_dir, max_bytes, http, progress)
        self.owner = owner_of(token)
        self.revalidate_after = revalidate_after
        self._task_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def cache_id(self, params: dict[str, Any]) -> str:
        """The server's id for these parameters under this token (remembered for offline use)."""
        body = canonical_json(params).encode()
        headers = {"Content-Type": "application/json"}
        answer = await self._conn.call_json("POST", "/v1/cache_id", ("cache_id",), content=body, headers=headers)
        await asyncio.to_thread(
            self.local.remember_cache_id, self.server, params_key(self.owner, params), answer["cache_id"]
        )
        return str(answer["cache_id"])

    async def upload(self, cache_id: str, path: Path | str) -> Uploaded:
        """Store a file under the id: streamed, refused by the server unless its sha256 matches (not copied here)."""
        source = Path(path)
        sha256, size = await asyncio.to_thread(_digest, source)
        filename = await self._send(cache_id, source, sha256, source.name)
        await asyncio.to_thread(self.local.forget_file, self.server, self.owner, cache_id)
        return Uploaded(cache_id, sha256, size, filename)

    async def download(self, cache_id: str, dest: Path | str) -> Path:
        """The id's file written to `dest` atomically, from the local copy when it is still valid."""
        return await asyncio.to_thread(self.local.export, await self.fetch(cache_id), Path(dest))

    async def fetch(self, cache_id: str) -> Path:
        """The local path of the id's file (read-only), revalidated with the server when the copy is old."""
        return (await self.fetch_file(cache_id)).path

    async def fetch_file(self, cache_id: str) -> Fetched:
        copy = await self._copy(cache_id)
        if copy is not None and self._fresh(copy):
            return fetched_copy(copy)
        try:
            return await self._revalidate(cache_id, copy)
        except NotFound:
            await asyncio.to_thread(self.local.forget_file, self.server, self.owner, cache_id)
            raise
        except (Unavailable, Timeout) as exc:
            return await self._offline(exc, cache_id, f"the local cache has no copy of cache id {cache_id}")

    async def fetch_params(self, params: dict[str, Any]) -> Fetched:
        """The file cached for these parameters; their id is asked for unless a valid copy is already here."""
        remembered = await asyncio.to_thread(self.local.cache_id, self.server, params_key(self.owner, params))
        copy = await self._copy(remembered) if remembered else None
        if copy is not None and self._fresh(copy):
            return fetched_copy(copy)
        try:
            cache_id = await self.cache_id(params)
        except (Unavailable, Timeout) as exc:
            return await self._offline(exc, remembered, "these parameters were never cached here")
        return await self.fetch_file(cache_id)

    async def delete(self, cache_id: str) -> None:
        try:
            await self._conn.call("DELETE", file_path(cache_id))
        finally:
            await asyncio.to_thread(self.local.forget_file, self.server, self.owner, cache_id)

    async def cached(self, params: dict[str, Any], produce: Produce, filename: str = "result") -> Path:
        """The cached file for `params`; when there is none, `produce(path)` writes it and it is uploaded.

        Callers on one machine, in any process or task, share a lock per parameters, so `produce` runs once for
        all of them. A cache failure is a miss, never a failed job: with the server away, the result is produced
        all the same and kept here, with a warning (the sync client uploads such a result on a later call).
        """
        key = params_key(self.owner, params)
        among_tasks = self._task_locks.setdefault(key, asyncio.Lock())
        async with among_tasks:  # this process's tasks queue here; one at a time takes the machine's lock
            return await self._cached_locked(params, key, produce, filename)

    async def _cached_locked(self, params: dict[str, Any], key: str, produce: Produce, filename: str) -> Path:
        lock = self.local.lock(key)
        await asyncio.to_thread(lock.acquire)
        try:
            unsent = await asyncio.to_thread(self.local.unsent.get, self.server, self.owner, key)
            if unsent is not None:
                return unsent.path
            try:
                return (await self.fetch_params(params)).path
            except (NotFound, Unavailable, Timeout):
                pass  # not cached, or the server cannot say: produce it
            return await self._produce_and_send(params, produce, filename)
        finally:
            await asyncio.to_thread(lock.release)

    def memoize(self, func: Callable[..., Any]) -> Callable[..., Awaitable[Path]]:
        """Decorator: `func(..., *, path)` (a coroutine function or a plain one) writes its result to `path`; calls
        without it return the cached file. The parameters are the function's name and its other arguments."""
        name, signature = memoizable(func)

        @functools.wraps(func)
        async def wrapper(*args: Any, **kwargs: Any) -> Path:
            params = memoized_params(name, signature, args, kwargs)
            produce = functools.partial(func, *args, **kwargs)  # called with path=
            return await self.cached(params, lambda path: produce(path=path), filename=func.__name__)

        return wrapper

    async def _produce_and_send(self, params: dict[str, Any], produce: Produce, filename: str) -> Path:
        output = self.local.temp_path()
        try:
            await _run(produce, output)
            if not output.is_file():
                raise ClientError(f"produce did not write its result to {output}")
            with self.local.writer(existing=output) as result:
                key = params_key(self.owner, params)
                try:
                    cache_id = await asyncio.to_thread(self.local.cache_id, self.server, key) or await self.cache_id(
                        params
                    )
                    kept_as = await self._send(cache_id, result.path, result.sha256, filename)
                except (Unavailable, Timeout) as exc:
                    log.warning("%s; the result produced here is kept and uploaded on a later call", exc.message)
                    kept = await asyncio.to_thread(
                        self.local.unsent.keep, self.server, self.owner, key, filename, result
                    )
                    return kept.path
                return (await self._keep(cache_id, result, kept_as)).path
        finally:
            output.unlink(missing_ok=True)

    async def _send(self, cache_id: str, source: Path, sha256: str, filename: str) -> str:
        """POST the file (the server refuses it unless its sha256 matches); the filename the server kept."""
        parts = form(source, filename, guessed_type(filename))
        with self.progress.transfer(f"put {filename}", source.stat().st_size) as advance:
            body = _streamed(source, parts.head, parts.tail, advance)
            headers = {**parts.headers, "X-Content-SHA256": sha256}
            answer = await self._conn.call_json("POST", file_path(cache_id), content=body, headers=headers)
        return str(answer.get("filename", filename))

    async def _keep(self, cache_id: str, blob: BlobWriter, filename: str) -> LocalFile:
        etag, content_type = f'"{blob.sha256}"', guessed_type(filename)
        store = self.local.store_file
        return await asyncio.to_thread(store, self.server, self.owner, cache_id, etag, filename, content_type, blob)

    async def _revalidate(self, cache_id: str, copy: LocalFile | None) -> Fetched:
        """Ask with the copy's ETag: a 304 confirms it, a 200 brings the file as it is now."""
        headers = {"If-None-Match": copy.etag} if copy else {}
        async with self._conn.stream("GET", file_path(cache_id), ok=(304,), headers=headers) as response:
            if response.status_code != 304 or copy is None:
                return await self._receive(cache_id, response)
        confirmed = await asyncio.to_thread(self.local.mark_validated, self.server, self.owner, cache_id)
        if confirmed is None:  # evicted while the server was asked: get it whole
            return await self._revalidate(cache_id, None)
        return fetched_copy(confirmed)

    async def _receive(self, cache_id: str, response: httpx.Response) -> Fetched:
        label, size = f"get {cache_id[:12]}", content_length(response)
        with self.local.writer() as writer, self.progress.transfer(label, size) as advance:
            async for chunk in response.aiter_bytes(CHUNK):
                await asyncio.to_thread(writer.write, chunk)
                advance(len(chunk))
            await asyncio.to_thread(check_received, response, writer)
            etag = response.headers.get("ETag", f'"{writer.sha256}"')
            content_type = response.headers.get("Content-Type", "application/octet-stream")
            store = self.local.store_file
            kept = filename_of(response)
            stored = await asyncio.to_thread(store, self.server, self.owner, cache_id, etag, kept, content_type, writer)
        return Fetched(stored.path, stored.size, False)

    async def _offline(self, exc: ClientError, cache_id: str | None, missing: str) -> Fetched:
        """The local copy as it is now (not as it was before the server was asked), with a warning."""
        copy = await self._copy(cache_id) if cache_id else None
        return offline_copy(exc, fetched_copy(copy) if copy else None, missing)

    async def _copy(self, cache_id: str) -> LocalFile | None:
        return await asyncio.to_thread(self.local.file, self.server, self.owner, cache_id)

    def _fresh(self, copy: LocalFile) -> bool:
        return time.time() - copy.validated_at < self.revalidate_after


async def _run(produce: Produce, output: Path) -> None:
    """A coroutine function (or one that hands back an awaitable) on the loop; a plain function in a thread."""
    if inspect.iscoroutinefunction(produce):
        await produce(output)
        return
    made = await asyncio.to_thread(produce, output)
    if inspect.isawaitable(made):  # a lambda around a coroutine function: its coroutine runs on the loop
        await made


def _digest(source: Path) -> tuple[str, int]:
    with open(source, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest(), file.tell()


async def _streamed(source: Path, head: bytes, tail: bytes, advance: Advance) -> AsyncIterator[bytes]:
    """The form's body, the file read in a thread a chunk at a time."""
    yield head
    file = await asyncio.to_thread(open, source, "rb")
    try:
        while chunk := await asyncio.to_thread(file.read, CHUNK):
            advance(len(chunk))
            yield chunk
    finally:
        await asyncio.to_thread(file.close)
    yield tail

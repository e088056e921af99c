"""AsyncImageCacheClient against a live stack: the sync client's calls, errors and local cache, from one event
loop, with the local cache's SQLite and disk work off the loop."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest

from imagecache_client import (
    AsyncImageCacheClient,
    ImageCacheClient,
    NoLocalCopy,
    NotFound,
    Unavailable,
    UpstreamError,
)
from imagecache_client.ids import query_digest
from imagecache_client.local import LocalCache
from testkit.processes import free_port
from testkit.upstream import make_query, simulate


def run(stack, tmp_path, body: Callable[[AsyncImageCacheClient, list[str]], Coroutine[Any, Any, Any]]) -> Any:
    """body(client, paths asked over HTTP) in a fresh event loop, with a client of the stack."""

    async def main() -> Any:
        asked: list[str] = []

        async def hook(response: httpx.Response) -> None:
            asked.append(response.request.url.path)

        async with (
            httpx.AsyncClient(timeout=60, event_hooks={"response": [hook]}) as http,
            AsyncImageCacheClient(stack.url, cache_dir=tmp_path / "local", http=http) as client,
        ):
            return await body(client, asked)

    return asyncio.run(main())


def test_a_fetch_downloads_once_then_a_thousand_at_once_ask_nobody(stack, tmp_path, simulator):
    simulate(simulator)
    queries = [make_query() for _ in range(10)]

    async def body(client: AsyncImageCacheClient, asked: list[str]) -> None:
        first = await asyncio.gather(*(client.fetch(query) for query in queries))
        assert all(path.read_bytes().startswith(b"\x89PNG") for path in first)
        before = len(asked)
        again = await asyncio.gather(*(client.fetch(queries[n % 10]) for n in range(1000)))
        assert again == [first[n % 10] for n in range(1000)] and len(asked) == before

    run(stack, tmp_path, body)


def test_the_same_answers_as_the_sync_client_and_the_same_local_cache(stack, tmp_path, simulator):
    simulate(simulator)
    query = make_query()

    async def body(client: AsyncImageCacheClient, asked: list[str]) -> tuple:
        entry = await client.request(query, ttl=120)
        data = await client.image(entry.id)
        status = await client.status(entry.id, wait=5)
        events = [event async for event in client.events([entry.id], wait=5)]
        return entry, data, status, events, await client.jobs(), await client.info(limit=1)

    entry, data, status, events, jobs, info = run(stack, tmp_path, body)
    assert entry.id.startswith(query_digest(query) + "_") and entry.cache_status.startswith("imagecache; ")
    assert data.startswith(b"\x89PNG") and status["status"] == "active"
    assert [event["id"] for event in events] == [entry.id] and events[0]["status"] == "active"
    assert jobs["default"] in {job["name"] for job in jobs["jobs"]} and "hits" in info
    with ImageCacheClient(stack.url, cache_dir=tmp_path / "local") as sync:  # the async client's copy is its too
        assert sync.local_copy(query) is not None and sync.local_copy(query).path.read_bytes() == data


def test_errors_are_the_sync_clients(stack, tmp_path, simulator):
    simulate(simulator, fail_first=3, fail_status=503)

    async def body(client: AsyncImageCacheClient, asked: list[str]) -> None:
        with pytest.raises(UpstreamError) as raised:
            await client.fetch(make_query())
        assert raised.value.status == 503
        with pytest.raises(NotFound):
            await client.fetch_id("a" * 64 + "_9999999999")
        with pytest.raises(NotFound):
            await client.fetch_id("not-an-id")

    try:
        run(stack, tmp_path, body)
    finally:
        simulate(simulator)

    async def nowhere() -> None:
        async with AsyncImageCacheClient(f"http://127.0.0.1:{free_port()}", cache_dir=tmp_path / "x") as client:
            with pytest.raises(Unavailable):
                await client.request(make_query())

    asyncio.run(nowhere())


def test_the_local_cache_is_read_and_written_off_the_event_loop(stack, tmp_path, simulator, monkeypatch):
    simulate(simulator)
    threads: set[int] = set()
    for name in ("image", "image_for_query", "store_image"):
        original = getattr(LocalCache, name)

        def spied(self, *args, _original=original, **kwargs):
            threads.add(threading.get_ident())
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(LocalCache, name, spied)

    async def body(client: AsyncImageCacheClient, asked: list[str]) -> int:
        query = make_query()
        await client.fetch(query)  # a miss: looked up, downloaded, stored
        await client.fetch(query)  # a hit
        return threading.get_ident()

    loop_thread = run(stack, tmp_path, body)
    assert threads and loop_thread not in threads


def test_offline_a_local_copy_is_used_with_a_warning(stack, tmp_path, simulator, caplog):
    simulate(simulator)
    query = make_query()

    async def fetched() -> Any:
        async with AsyncImageCacheClient(stack.url, cache_dir=tmp_path / "local") as client:
            return await client.fetch(query)

    path = asyncio.run(fetched())

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async def offline() -> Any:
        async with (
            httpx.AsyncClient(transport=httpx.MockTransport(unreachable)) as http,
            AsyncImageCacheClient(stack.url, cache_dir=tmp_path / "local", http=http) as client,
        ):
            with pytest.raises(NoLocalCopy):
                await client.fetch(make_query())
            return await client.fetch(query, refresh=True)

    with caplog.at_level(logging.WARNING, logger="imagecache.client"):
        assert asyncio.run(offline()) == path
    assert "cannot reach" in caplog.text and "local copy" in caplog.text


def test_closing_the_client_closes_every_connection_its_threads_opened(stack, tmp_path, simulator):
    simulate(simulator)
    index = str((tmp_path / "local" / "index.sqlite3").resolve())

    def open_on_index() -> int:
        return sum(os.path.realpath(f"/proc/self/fd/{fd}") == index for fd in os.listdir("/proc/self/fd"))

    async def body(client: AsyncImageCacheClient, asked: list[str]) -> int:
        queries = [make_query() for _ in range(5)]
        await asyncio.gather(*(client.fetch(query) for query in queries * 20))
        return open_on_index()

    assert run(stack, tmp_path, body) > 1  # several threads' connections while it ran
    assert open_on_index() == 0

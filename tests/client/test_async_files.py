"""AsyncFileCacheClient against a live stack (KBase auth stand-in): the sync client's workflow from one event loop,
with the local cache's work off the loop; producers may be coroutine functions or plain ones."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest

from imagecache_client import AsyncFileCacheClient, FileCacheClient, NoLocalCopy, NotFound
from tests.client.conftest import ALICE


def run(stack, tmp_path, body: Callable[[AsyncFileCacheClient], Coroutine[Any, Any, Any]], **options: Any) -> Any:
    async def main() -> Any:
        async with AsyncFileCacheClient(stack.url, ALICE, cache_dir=tmp_path / "local", **options) as client:
            return await body(client)

    return asyncio.run(main())


def test_upload_fetch_download_revalidate_and_delete(stack, tmp_path):
    source = tmp_path / "contigs.fa"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 7))  # more than one chunk each way

    async def body(client: AsyncFileCacheClient) -> None:
        cache_id = await client.cache_id({"method": "assemble", "k": os.urandom(4).hex()})
        uploaded = await client.upload(cache_id, source)
        assert uploaded.size == source.stat().st_size and uploaded.filename == "contigs.fa"
        fetched = await client.fetch_file(cache_id)
        assert not fetched.from_cache and fetched.path.read_bytes() == source.read_bytes()
        assert (await client.fetch_file(cache_id)).from_cache
        client.revalidate_after = 0
        assert (await client.fetch_file(cache_id)).from_cache  # a 304 keeps the copy
        dest = await client.download(cache_id, tmp_path / "here.fa")
        assert dest.read_bytes() == source.read_bytes()
        await client.delete(cache_id)
        with pytest.raises(NotFound):
            await client.fetch(cache_id)

    run(stack, tmp_path, body)


def test_cached_produces_once_for_many_tasks_and_the_sync_client_shares_it(stack, tmp_path):
    params = {"method": "assemble", "run": os.urandom(4).hex()}
    runs: list[int] = []

    async def produce(path: Path) -> None:
        runs.append(1)
        await asyncio.sleep(0.2)
        path.write_bytes(b"assembled")

    async def body(client: AsyncFileCacheClient) -> list[Path]:
        return await asyncio.gather(*(client.cached(params, produce) for _ in range(10)))

    paths = run(stack, tmp_path, body)
    assert len(runs) == 1 and {path.read_bytes() for path in paths} == {b"assembled"}
    with FileCacheClient(stack.url, ALICE, cache_dir=tmp_path / "elsewhere") as sync:
        assert sync.fetch_params(params).path.read_bytes() == b"assembled"  # uploaded, for every machine


def test_memoize_takes_coroutine_functions_and_plain_ones(stack, tmp_path):
    calls: list[str] = []
    salt = os.urandom(4).hex()

    async def body(client: AsyncFileCacheClient) -> tuple[bytes, ...]:
        @client.memoize
        async def assemble(reads: str, k: int = 31, *, path: Path) -> None:
            calls.append(f"async {k}")
            path.write_text(f"{reads}:{k}:{salt}")

        @client.memoize
        def count(reads: str, *, path: Path) -> None:
            calls.append("plain")
            path.write_text(f"{len(reads)}:{salt}")

        first = await assemble("r.fq", k=21)
        again = await assemble("r.fq", 21)
        plain = await count("r.fq")
        with pytest.raises(TypeError, match="path"):
            await assemble("r.fq", path=Path("x"))
        return first.read_bytes(), again.read_bytes(), plain.read_bytes()

    first, again, plain = run(stack, tmp_path, body)
    assert first == again == f"r.fq:21:{salt}".encode() and plain == f"4:{salt}".encode()
    assert calls == ["async 21", "plain"]


def test_offline_a_local_copy_is_used_and_a_result_produced_is_kept(stack, tmp_path, caplog):
    source = tmp_path / "a.bin"
    source.write_bytes(b"kept here")

    async def online(client: AsyncFileCacheClient) -> str:
        cache_id = await client.cache_id({"offline": os.urandom(4).hex()})
        await client.upload(cache_id, source)
        await client.fetch(cache_id)
        return cache_id

    cache_id = run(stack, tmp_path, online)

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async def offline() -> None:
        async with (
            httpx.AsyncClient(transport=httpx.MockTransport(unreachable)) as http,
            AsyncFileCacheClient(stack.url, ALICE, cache_dir=tmp_path / "local", revalidate_after=0, http=http) as c,
        ):
            assert (await c.fetch(cache_id)).read_bytes() == b"kept here"
            with pytest.raises(NoLocalCopy):
                await c.fetch("f" * 64)
            produced = await c.cached({"made": "offline"}, lambda path: path.write_bytes(b"made here"))
            assert produced.read_bytes() == b"made here"

    with caplog.at_level(logging.WARNING, logger="imagecache.client"):
        asyncio.run(offline())
    assert "local copy" in caplog.text and "uploaded on a later call" in caplog.text

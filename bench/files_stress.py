"""The seed's stress pattern on the /v1 file cache: 1000 cache ids, 1000 small uploads,
1000 downloads, 1000 deletes, 50 in flight; requests/s per phase (filesystem backend)."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from bench.harness import environment, figure
from bench.peer_figures import KBASE_STRESS_REQ_PER_S, versus

COUNT, IN_FLIGHT = 1000, 50


async def phase(name: str, calls: list, in_flight: int = IN_FLIGHT) -> list:
    gate = asyncio.Semaphore(in_flight)

    async def bounded(call):
        async with gate:
            return await call()

    started = time.perf_counter()
    results = await asyncio.gather(*(bounded(call) for call in calls))
    elapsed = time.perf_counter() - started
    errors = sum(1 for status, _ in results if status != 200)
    rate = len(calls) / elapsed
    peer = versus(rate, KBASE_STRESS_REQ_PER_S[name])
    figure(f"  {name}", f"{rate:,.0f} req/s, {errors} errors (aim >= 1000 req/s, 0 errors), {peer}")
    return [value for _, value in results]


async def stress(url: str, token: str) -> None:
    auth = {"Authorization": token}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        def make_id(n: int):
            async def call():
                async with session.post(url + "/v1/cache_id", json={"n": n}, headers=auth) as r:
                    return r.status, (await r.json()).get("cache_id")

            return call

        def put(cache_id: str):
            async def call():
                form = aiohttp.FormData()
                form.add_field("file", b"x" * 1024, filename="small.bin", content_type="application/octet-stream")
                async with session.post(f"{url}/v1/cache/{cache_id}", data=form, headers=auth) as r:
                    await r.read()
                    return r.status, None

            return call

        def get(cache_id: str):
            async def call():
                async with session.get(f"{url}/v1/cache/{cache_id}", headers=auth) as r:
                    body = await r.read()
                    return (r.status if len(body) == 1024 else 599), None

            return call

        def delete(cache_id: str):
            async def call():
                async with session.delete(f"{url}/v1/cache/{cache_id}", headers=auth) as r:
                    await r.read()
                    return r.status, None

            return call

        ids = await phase("cache ids", [make_id(n) for n in range(COUNT)])
        await phase("uploads (1 KiB)", [put(cache_id) for cache_id in ids])
        await phase("downloads", [get(cache_id) for cache_id in ids])
        await phase("deletes", [delete(cache_id) for cache_id in ids])


def main() -> None:
    with environment() as bench:
        figure(f"/v1 stress: {COUNT} each, {IN_FLIGHT} in flight", "")
        asyncio.run(stress(bench.stack.url, bench.token))


if __name__ == "__main__":
    main()

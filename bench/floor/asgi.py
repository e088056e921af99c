"""The floor's web tier on uvicorn (httptools, uvloop) under gunicorn: the same two routes as `bench.floor.wsgi`,
as Falcon's ASGI app over redis-py's asyncio client.

    gunicorn -k uvicorn_worker.UvicornWorker 'bench.floor.asgi:create()'
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

import falcon
import falcon.asgi
from redis.asyncio import Redis

from bench.floor.shape import KEYS, PENDING, REQUEST, Listeners, Settings, answer, request_call

WAIT_SECONDS = 60


class Waiters:
    """This process's waiting GETs by entry, woken by one listening task started with the app."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._listeners: Listeners[asyncio.Event] = Listeners()
        self._listener: asyncio.Task[None] | None = None

    async def process_startup(self, scope: dict[str, Any], event: dict[str, Any]) -> None:
        self._listener = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(KEYS.settled)
        async for message in pubsub.listen():
            self._listeners.wake(message["data"])

    async def wait(self, entry: str, state: Callable[[], Awaitable[bytes | None]]) -> bytes | None:
        """As `bench.floor.wsgi.Waiters.wait`: listening before looking again."""
        event = asyncio.Event()
        self._listeners.add(entry, event)
        found = await state()
        if found == PENDING:
            with suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), WAIT_SECONDS)
            found = await state()
        self._listeners.forget(entry, event)
        return found


class Requests:
    def __init__(self, redis: Redis) -> None:
        self._request = redis.register_script(REQUEST)

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        found, keys, args = request_call((await req.get_media())["api_query"])
        await self._request(keys=keys, args=args)
        resp.media = {"id": found}


class Images:
    def __init__(self, redis: Redis, settings: Settings, waiters: Waiters) -> None:
        self._redis = redis
        self._results = settings.results
        self._waiters = waiters

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, entry: str) -> None:
        key = KEYS.entry(entry)
        state = await self._redis.get(key)
        if state == PENDING:
            state = await self._waiters.wait(entry, lambda: self._redis.get(key))
        answer(resp, state, self._results / entry)


def create() -> falcon.asgi.App:
    settings = Settings.from_environment()
    redis = Redis.from_url(settings.redis_url)
    waiters = Waiters(redis)
    app = falcon.asgi.App(middleware=[waiters])
    app.add_route("/requests", Requests(redis))
    app.add_route("/image/{entry}", Images(redis, settings, waiters))
    return app

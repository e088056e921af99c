"""The floor's web tier on uvicorn (httptools, uvloop) under gunicorn: the same two routes as `bench.floor.wsgi`,
as Falcon's ASGI app over redis-py's asyncio client.

    gunicorn -k uvicorn_worker.UvicornWorker 'bench.floor.asgi:create()'
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import Any

import falcon
import falcon.asgi
from redis.asyncio import Redis

from bench.floor.shape import PENDING, REQUEST, WAIT_SECONDS, Keys, Listeners, Settings, answer, request_call


class Waiters:
    """This process's waiting GETs, woken by one listening task started with the app (a middleware's startup)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._listeners: Listeners[asyncio.Event] = Listeners()
        self._listener: asyncio.Task[None] | None = None  # held here: the loop keeps a task only weakly

    async def process_startup(self, scope: dict[str, Any], event: dict[str, Any]) -> None:
        self._listener = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(Keys.settled)
        async for message in pubsub.listen():
            self._listeners.wake(message["data"])

    async def state(self, entry: str) -> bytes | None:
        """As `bench.floor.wsgi.Waiters.state`: listening before looking."""
        event = asyncio.Event()
        self._listeners.add(entry, event)
        found = await self._redis.get(Keys.entry(entry))
        if found == PENDING:
            with suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), WAIT_SECONDS)
            found = await self._redis.get(Keys.entry(entry))
        self._listeners.forget(entry, event)
        return found


class Requests:
    def __init__(self, redis: Redis) -> None:
        self._request = redis.register_script(REQUEST)

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        entry, keys, args = request_call((await req.get_media())["api_query"])
        await self._request(keys=keys, args=args)
        resp.media = {"id": entry}


class Images:
    def __init__(self, waiters: Waiters, settings: Settings) -> None:
        self._waiters = waiters
        self._results = settings.results

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, entry: str) -> None:
        answer(resp, await self._waiters.state(entry), self._results / entry)


def create() -> falcon.asgi.App:
    settings = Settings.from_environment()
    redis = Redis.from_url(settings.redis_url)
    waiters = Waiters(redis)
    app = falcon.asgi.App(middleware=[waiters])
    app.add_route("/requests", Requests(redis))
    app.add_route("/image/{entry}", Images(waiters, settings))
    return app

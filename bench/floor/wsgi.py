"""The floor's web tier on gunicorn's gevent worker, imagecache's own: a POST is one script, a waiting GET is woken
by the process's one subscription.

    gunicorn -k gevent 'bench.floor.wsgi:create()'
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import falcon
from redis import Redis

from bench.floor.shape import KEYS, PENDING, REQUEST, Listeners, Settings, answer, request_call

WAIT_SECONDS = 60


class Waiters:
    """This process's waiting GETs by entry. gunicorn's gevent worker patched threading first: the listener is a
    greenlet, each wait a gevent event."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._listeners: Listeners[threading.Event] = Listeners()
        threading.Thread(target=self._listen, daemon=True).start()

    def _listen(self) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(KEYS.settled)
        for message in pubsub.listen():
            self._listeners.wake(message["data"])

    def wait(self, entry: str, state: Callable[[], bytes | None]) -> bytes | None:
        """The entry's state once it is no longer pending (or the wait ran out); listening before looking again,
        so a settle between the two is not missed."""
        event = threading.Event()
        self._listeners.add(entry, event)
        found = state()
        if found == PENDING:
            event.wait(WAIT_SECONDS)
            found = state()
        self._listeners.forget(entry, event)
        return found


class Requests:
    def __init__(self, redis: Redis) -> None:
        self._request = redis.register_script(REQUEST)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        found, keys, args = request_call(req.get_media()["api_query"])
        self._request(keys=keys, args=args)
        resp.media = {"id": found}


class Images:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self._redis = redis
        self._results = settings.results
        self._waiters = Waiters(redis)

    def on_get(self, req: falcon.Request, resp: falcon.Response, entry: str) -> None:
        key = KEYS.entry(entry)
        state = self._redis.get(key)
        if state == PENDING:
            state = self._waiters.wait(entry, lambda: self._redis.get(key))
        answer(resp, state, self._results / entry)


def create() -> falcon.App:
    settings = Settings.from_environment()
    redis = Redis.from_url(settings.redis_url)
    app = falcon.App()
    app.add_route("/requests", Requests(redis))
    app.add_route("/image/{entry}", Images(redis, settings))
    return app

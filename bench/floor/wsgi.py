"""The floor's web tier on gunicorn's gevent worker, imagecache's own: a POST is one script, a waiting GET is woken
by the process's one subscription.

    gunicorn -k gevent 'bench.floor.wsgi:create()'
"""

from __future__ import annotations

import threading

import falcon
from redis import Redis

from bench.floor.shape import PENDING, REQUEST, WAIT_SECONDS, Keys, Listeners, Settings, answer, request_call


class Waiters:
    """This process's waiting GETs. gunicorn's gevent worker patched threading first: the listener is a greenlet,
    each wait a gevent event."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._listeners: Listeners[threading.Event] = Listeners()
        threading.Thread(target=self._listen, daemon=True).start()

    def _listen(self) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(Keys.settled)
        for message in pubsub.listen():
            self._listeners.wake(message["data"])

    def state(self, entry: str) -> bytes | None:
        """The entry's state once it is no longer pending (or the wait ran out); listening before looking, so a
        settle in between is not missed."""
        event = threading.Event()
        self._listeners.add(entry, event)
        found = self._redis.get(Keys.entry(entry))
        if found == PENDING:
            event.wait(WAIT_SECONDS)
            found = self._redis.get(Keys.entry(entry))
        self._listeners.forget(entry, event)
        return found


class Requests:
    def __init__(self, redis: Redis) -> None:
        self._request = redis.register_script(REQUEST)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        entry, keys, args = request_call(req.get_media()["api_query"])
        self._request(keys=keys, args=args)
        resp.media = {"id": entry}


class Images:
    def __init__(self, waiters: Waiters, settings: Settings) -> None:
        self._waiters = waiters
        self._results = settings.results

    def on_get(self, req: falcon.Request, resp: falcon.Response, entry: str) -> None:
        answer(resp, self._waiters.state(entry), self._results / entry)


def create() -> falcon.App:
    settings = Settings.from_environment()
    redis = Redis.from_url(settings.redis_url)
    app = falcon.App()
    app.add_route("/requests", Requests(redis))
    app.add_route("/image/{entry}", Images(Waiters(redis), settings))
    return app

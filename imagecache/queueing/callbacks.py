"""Callbacks' adapters: where a settled entry's callbacks wait to be handed on (RedisCallbackRegistry, the
CallbackRegistry port) and the queue that delivers them (RqCallbackQueue, the CallbackQueue port on RQ: one job
per callback, retried by RQ's own Retry).

The request script keeps each URL in callbacks:<id> while the entry is pending;
the script that settles the entry adds it to callbacks_due in the same step
(index/lua/entry_request.lua, entry_complete.lua, entry_fail.lua).

The queue is its own (<prefix>-callbacks), run by `imagecache callbacks` (an RQ
worker with RQ's scheduler, which brings retries back when their time comes),
so a slow or failing receiver never takes a slot from a job that produces a
result. The job names the receiver's host only in its description: the URL's
path and query may carry the receiver's own secrets.
"""

from __future__ import annotations

import urllib.parse
from typing import cast

from redis import Redis
from rq import Queue, Retry

from imagecache.redis_access.keys import RedisKeys

CALLBACK_FUNCTION = "workers.callbacks.delivery.deliver"
FAILURE_TTL = 7 * 24 * 3600  # a callback that failed every attempt stays in RQ's failed registry a week
TIMEOUT = 60


class RedisCallbackRegistry:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._keys = RedisKeys(prefix)

    def due(self, settled_before: float, limit: int = 100) -> list[str]:
        """Settled entries whose callbacks are yet to be handed on, oldest first."""
        due = self._redis.zrangebyscore(self._keys.callbacks_due, "-inf", settled_before, start=0, num=limit)
        return cast(list[str], due)

    def urls(self, entry_id: str) -> list[str]:
        return sorted(cast(set[str], self._redis.smembers(self._keys.callbacks_prefix + entry_id)))

    def sent(self, entry_id: str) -> None:
        """Its callbacks are handed on: forget them."""
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._keys.callbacks_prefix + entry_id)
            pipe.zrem(self._keys.callbacks_due, entry_id)
            pipe.execute()


class RqCallbackQueue:
    def __init__(self, connection: Redis, prefix: str, retries: list[int]) -> None:
        self.queue = Queue(RedisKeys(prefix).rq_callbacks, connection=connection)
        self._retry = Retry(max=len(retries), interval=retries) if retries else None

    def enqueue(self, url: str, body: bytes) -> None:
        self.queue.enqueue(
            CALLBACK_FUNCTION,
            url,
            body.decode(),
            retry=self._retry,
            result_ttl=0,
            failure_ttl=FAILURE_TTL,
            job_timeout=TIMEOUT,
            description=f"callback to {urllib.parse.urlsplit(url).hostname}",
        )

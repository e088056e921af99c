"""RqCallbackQueue: the CallbackQueue port on RQ; one job per callback, retried by RQ's own Retry.

Its own queue (<prefix>-callbacks), run by `imagecache callbacks` (an RQ
worker with RQ's scheduler, which brings retries back when their time comes),
so a slow or failing receiver never takes a slot from a job that produces a
result. The job names the receiver's host only in its description: the URL's
path and query may carry the receiver's own secrets.
"""

from __future__ import annotations

import urllib.parse

from redis import Redis
from rq import Queue, Retry

from imagecache.redis_access.keys import RedisKeys

CALLBACK_FUNCTION = "workers.callbacks.deliver"
FAILURE_TTL = 7 * 24 * 3600  # a callback that failed every attempt stays in RQ's failed registry a week
TIMEOUT = 60


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

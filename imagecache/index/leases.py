"""WorkerLease: a worker process's claim to be alive, a Redis key that lapses a few seconds after it dies.

Each entry a worker produces names its process's lease (in the `running`
hash). Checkers (every worker twice a second, maintenance each pass) treat the
entries of a lease they have seen missing for a whole TTL as abandoned and hand
them out again: a killed process's work is picked up in seconds, not after RQ's
cleanup finds its job past its deadline (a job timeout later). A worker renews its lease before anything else when Redis
comes back, and a checker must see the lease missing for a full TTL, so an
outage alone never makes running work look abandoned.
"""

from __future__ import annotations

import uuid

from redis import Redis


class WorkerLease:
    def __init__(self, redis: Redis, key_prefix: str, ttl: float) -> None:
        self._redis = redis
        self.id = uuid.uuid4().hex[:16]
        self._key = key_prefix + self.id
        self.ttl = ttl

    def renew(self) -> None:
        self._redis.set(self._key, "1", px=int(self.ttl * 1000))

    def end(self) -> None:
        """The process stops: its lease goes at once (its unfinished work, if any, is picked up by others)."""
        self._redis.delete(self._key)

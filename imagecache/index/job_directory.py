"""RedisJobDirectory: the JobDirectory port on Redis; one hash field per worker process, what it runs and until when.

Each worker rewrites its field at every heartbeat and removes it when it stops;
a field past its time (a worker killed) is ignored by readers and pruned by the
next writer. A web host asks once a second at most (services/job_kinds.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from redis import Redis

from imagecache.domain.job_settings import JobSettings
from imagecache.redis_access.keys import RedisKeys

PRUNE_AFTER = 60.0  # a worker's field this long past its time is removed by the next worker that writes


class RedisJobDirectory:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._key = RedisKeys(prefix).jobs

    def advertise(self, worker: str, kinds: Mapping[str, JobSettings], now: float, ttl: float) -> None:
        record = json.dumps({"until": now + ttl, "kinds": [settings.to_json() for settings in kinds.values()]})
        lapsed = [name for name, advert in self._adverts() if advert["until"] < now - PRUNE_AFTER]
        with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(self._key, worker, record)
            if lapsed:
                pipe.hdel(self._key, *lapsed)
            pipe.execute()

    def withdraw(self, worker: str) -> None:
        self._redis.hdel(self._key, worker)

    def served(self, now: float) -> dict[str, JobSettings]:
        live = [advert["kinds"] for _, advert in self._adverts() if advert["until"] > now]
        if not live:
            return {}
        common = set.intersection(*({kind["name"] for kind in kinds} for kinds in live))
        return {kind["name"]: JobSettings.from_json(kind) for kind in live[0] if kind["name"] in common}

    def _adverts(self) -> list[tuple[str, dict[str, Any]]]:
        raw = cast(dict[str, str], self._redis.hgetall(self._key))
        return [(name, json.loads(record)) for name, record in raw.items()]

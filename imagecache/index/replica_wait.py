"""RedisReplicaWait: the Replication port on Redis's WAIT, so a failover keeps what we acknowledged.

Redis replicates asynchronously: a write the primary answered can be lost if
the primary dies before its replica has it, and Sentinel then promotes that
replica. WAIT blocks until the replicas hold every write made so far on its
own connection; a pool hands out any connection, so a counter increment goes
first on the same one: its replication offset is past every earlier write,
whichever connection made it.

A short WAIT means one of two things. The Sentinels may have promoted the
replica while this primary still takes writes (a graceful failover, a
partition): then what was written here is lost, and the write is refused as an
outage (503; the client's retry reaches the new primary). Or no replica is
answering (it is down, or it was promoted and the old primary is gone): then
WAIT would cost its whole timeout on every write, so the next ones are skipped
for DEGRADED_SECONDS, the writes meanwhile counted as unreplicated in /info
and /metrics.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from imagecache.domain.counter_fields import REPLICA_WAIT_TIMEOUTS, REPLICA_WAITS, UNREPLICATED_WRITES
from imagecache.redis_access.keys import RedisKeys

log = logging.getLogger(__name__)

DEGRADED_SECONDS = 5.0


class RedisReplicaWait:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        replicas: int,
        timeout_ms: int,
        primary_moved: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self._stats = RedisKeys(prefix).stats
        self._replicas = replicas
        self._timeout_ms = timeout_ms
        self._primary_moved = primary_moved
        self._clock = clock
        self._degraded_until = 0.0

    def confirm(self) -> None:
        """Return once `replicas` replicas hold every write made so far (or after the timeout, warning)."""
        if not self._replicas:
            return
        if self._clock() < self._degraded_until:
            self._redis.hincrby(self._stats, UNREPLICATED_WRITES, 1)
            return
        with self._redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(self._stats, REPLICA_WAITS, 1)
            pipe.wait(self._replicas, self._timeout_ms)
            _, acknowledged = pipe.execute()
        if acknowledged < self._replicas:
            if self._primary_moved():
                raise RedisConnectionError("the Sentinels promoted another primary: these writes may be lost")
            self._degraded_until = self._clock() + DEGRADED_SECONDS
            self._redis.hincrby(self._stats, REPLICA_WAIT_TIMEOUTS, 1)
            log.warning(
                "redis: %d of %d replicas acknowledged within %d ms; not waiting for replicas for %.0f s",
                acknowledged,
                self._replicas,
                self._timeout_ms,
                DEGRADED_SECONDS,
            )

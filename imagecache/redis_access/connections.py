"""RedisConnector: Redis clients for REDIS_URL's server, or for whichever server the Sentinels call primary now.

With Sentinel, each new connection asks the Sentinels where the primary is,
and a connection that meets a demoted primary (READONLY) drops itself; so after
a failover every client (the index's, RQ's, the notifier's subscription) moves
to the new primary on its next connection, with no restart. Until the
Sentinels name one, connecting fails as an outage (MasterNotFoundError is a
ConnectionError): a 503, never a hang.
"""

from __future__ import annotations

from typing import Any

from redis import BlockingConnectionPool, Redis
from redis.backoff import NoBackoff
from redis.connection import ConnectionInterface, parse_url
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool

from imagecache.redis_access.readiness import check_readiness_without_waiting

POOL_WAIT = 1.0  # seconds a request waits for a pooled connection before it is an outage
SENTINEL_TIMEOUT = 0.5


class _BlockingSentinelPool(SentinelConnectionPool, BlockingConnectionPool):
    """Sentinel's pool, bounded as BlockingConnectionPool is: a burst waits for a connection, it does not open
    hundreds."""

    def release(self, connection: ConnectionInterface) -> None:
        """A connection to a former primary is forgotten, not only closed: else each failover leaves some behind."""
        if not self.owns_connection(connection):
            with self._lock:
                if connection in self._connections:
                    self._connections.remove(connection)
        super().release(connection)


class RedisConnector:
    def __init__(
        self,
        url: str,
        sentinels: list[tuple[str, int]] | None = None,
        master: str = "mymaster",
        sentinel_password: str = "",
    ) -> None:
        """With sentinels, REDIS_URL's host and port are not used; its database, user and password still are."""
        check_readiness_without_waiting()
        self._url = url
        self._master = master
        self._sentinel = None
        if sentinels:
            options: dict[str, Any] = {
                "socket_timeout": SENTINEL_TIMEOUT,
                "socket_connect_timeout": SENTINEL_TIMEOUT,
                # No retries of its own: each connection's connect is retried already, and a Sentinel asked
                # again with backoff inside that retry made one command take 10 s with all of them away.
                "retry": Retry(NoBackoff(), 0),
            }
            if sentinel_password:
                options["password"] = sentinel_password
            self._sentinel = Sentinel(sentinels, sentinel_kwargs=options)

    def pooled(self, size: int, **options: Any) -> Redis:
        """A client over at most `size` connections; a caller finding none free waits POOL_WAIT, then fails."""
        if self._sentinel is None:
            pool = BlockingConnectionPool.from_url(self._url, max_connections=size, timeout=POOL_WAIT, **options)
            return Redis(connection_pool=pool)
        return self._primary(_BlockingSentinelPool, max_connections=size, timeout=POOL_WAIT, **options)

    def single(self, **options: Any) -> Redis:
        """A client for one long-lived connection (a subscription)."""
        if self._sentinel is None:
            return Redis.from_url(self._url, **options)
        return self._primary(SentinelConnectionPool, **options)

    @staticmethod
    def primary_moved(client: Redis) -> bool:
        """Whether the Sentinels now name another primary than the one client's connections go to (False without
        Sentinel). A graceful failover leaves the old primary writable for a while: only asking tells."""
        pool = client.connection_pool
        if not isinstance(pool, SentinelConnectionPool):
            return False
        known = pool.master_address
        return known is not None and pool.get_master_address() != known

    def _primary(self, pool_class: type[SentinelConnectionPool], **options: Any) -> Redis:
        assert self._sentinel is not None
        parts = parse_url(self._url)
        known = {name: parts[name] for name in ("db", "username", "password") if parts.get(name) is not None}
        if self._url.startswith("rediss:"):
            known["ssl"] = True
        return self._sentinel.master_for(self._master, connection_pool_class=pool_class, **known, **options)

"""RedisTenantAccounts: the TenantAccounts port, each tenant's figures (tenant:<name>) and its stored results by
last use (tenant_lru:<name>).

The entry scripts keep both exact in the step that changes an entry (entry_request, entry_complete, entry_fail,
entry_delete); this only reads them, and counts what eviction by tenant removed.
"""

from __future__ import annotations

import time
from typing import cast

from redis import Redis

from imagecache.redis_access.keys import RedisKeys


class RedisTenantAccounts:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._keys = RedisKeys(prefix)

    def _account(self, tenant: str) -> str:
        return self._keys.tenant_prefix + tenant

    def seen(self) -> list[str]:
        return sorted(cast(set[str], self._redis.smembers(self._keys.tenants)))

    def stored_bytes(self, tenant: str) -> int:
        return int(cast(str, self._redis.hget(self._account(tenant), "bytes") or 0))

    def least_recent(self, tenant: str, skip: int) -> list[str]:
        return cast(list[str], self._redis.zrange(self._keys.tenant_lru_prefix + tenant, skip, skip))

    def forget(self, tenant: str, member: str) -> None:
        self._redis.zrem(self._keys.tenant_lru_prefix + tenant, member)

    def note_evicted(self, tenant: str, count: int) -> None:
        self._redis.hincrby(self._account(tenant), "evicted", count)

    def figures(self, tenants: list[str]) -> list[dict[str, int]]:
        """`pending` counts the runs going on whose entries were deleted too: they hold the tenant's slots."""
        with self._redis.pipeline(transaction=False) as pipe:
            for tenant in tenants:
                pipe.hgetall(self._account(tenant))
                pipe.zcount(self._keys.tenant_held_prefix + tenant, time.time(), "+inf")
            found = pipe.execute()
        figures = []
        for fields, held in zip(found[::2], found[1::2]):
            counts = {name: int(float(value)) for name, value in fields.items() if name != "tat"}
            figures.append({**counts, "pending": counts.get("pending", 0) + int(held)})
        return figures

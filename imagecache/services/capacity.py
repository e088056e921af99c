"""Capacity: CACHE_MAX_BYTES over images and /v1 files together.

Usage is the exact byte count the index scripts keep in Redis (so it holds
across restarts and hosts); when it passes the bound the least recently used
stored results go first, images and files alike. Eviction makes an expiry
an upper bound, not a promise. A single result larger than the bound can
never fit and is refused with 507.

A tenant with a `stored_bytes` quota (TENANTS, domain/tenants.py) has a bound of its own over the results it
started: past it, its own least recently used results go first, before the shared bound is looked at, so one
tenant filling the cache evicts its own results, not another's. The result just stored is kept through the pass
that follows it, however large: whoever waits for it (other tenants too, when they joined its production) reads
it, and it goes at the tenant's next pass if still over.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from imagecache.domain.ports import EntryUpkeep, FileIndex, Recency, TenantAccounts
from imagecache.domain.tenants import Tenants
from imagecache.services.item_sweep import ItemSweep, one_by_one

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TenantBudgets:
    """Each tenant's stored_bytes quota, and where what it stores is counted."""

    tenants: Tenants
    accounts: TenantAccounts


class Capacity:
    def __init__(
        self,
        recency: Recency,
        entries: EntryUpkeep,
        files: FileIndex,
        max_bytes: int,
        sweep: ItemSweep,
        clock: Callable[[], float] = time.time,
        budgets: TenantBudgets | None = None,
    ) -> None:
        self._recency = recency
        self._entries = entries
        self._files = files
        self.max_bytes = max_bytes
        self._sweep = sweep
        self._clock = clock
        self._budgets = budgets

    def used(self) -> int:
        return self._recency.used_bytes()

    def fits(self, size: int) -> bool:
        """Whether a result of this size can be stored at all (after evicting everything else)."""
        return not self.max_bytes or size <= self.max_bytes

    def enforce(self) -> int:
        """Evict least recently used results until every tenant is within its budget and usage is under the
        bound; the number evicted."""
        seen = self._budgets.accounts.seen() if self._budgets and self._budgets.tenants.budgeted else []
        return sum(self._enforce_tenant(tenant) for tenant in seen) + self._enforce_shared()

    def enforce_for(self, tenant: str | None, newest: str) -> int:
        """As enforce, of the budgets the result `newest` (an entry id), just stored for the tenant, may have
        passed: its own, where it is kept, and the shared."""
        return (self._enforce_tenant(tenant, keep="i:" + newest) if tenant is not None else 0) + self._enforce_shared()

    def _budget(self, tenant: str | None) -> int | None:
        if self._budgets is None or tenant is None:
            return None
        return self._budgets.tenants.quota(tenant).stored_bytes

    def _enforce_tenant(self, tenant: str, keep: str = "") -> int:
        budget, budgets = self._budget(tenant), self._budgets
        if budget is None or budgets is None:
            return 0
        accounts = budgets.accounts

        def next_victim(skip: int) -> list[str]:
            return accounts.least_recent(tenant, skip) if accounts.stored_bytes(tenant) > budget else []

        def evict(member: str) -> bool:
            if member == keep:
                return False
            gone = self._evict(member)
            if not gone:  # already gone (another pass took it): a stray in the tenant's set, now forgotten
                accounts.forget(tenant, member)
            return gone

        evicted = self._sweep.run(f"tenant {tenant}: evicting", next_victim, one_by_one(evict))
        if evicted:
            accounts.note_evicted(tenant, evicted)
            log.info("capacity: evicted %d of tenant %r's results to stay under %d bytes", evicted, tenant, budget)
        return evicted

    def _enforce_shared(self) -> int:
        if not self.max_bytes:
            return 0
        evicted = self._sweep.run("capacity: evicting", self._next_victim, one_by_one(self._evict))
        if evicted:
            log.info("capacity: evicted %d results to stay under %d bytes", evicted, self.max_bytes)
        return evicted

    def _next_victim(self, skip: int) -> list[str]:
        """The least recently used result (past `skip` that could not be evicted), while over the bound."""
        if self.used() <= self.max_bytes:
            return []
        return self._recency.least_recent(skip)

    def _evict(self, member: str) -> bool:
        """Whether it was there to evict (another process may have evicted it first)."""
        kind, _, ident = member.partition(":")
        now = self._clock()
        gone = self._entries.delete(ident, now) if kind == "i" else self._files.remove(ident, now)
        self._recency.forget(member)
        return gone

"""TenantReport: each configured tenant's figures, for /info and /metrics.

Only the tenants TENANTS names get a row, so however many API keys ask, the
figures' labels stay as many as the configuration says. The figures are the
index's own (kept by the entry scripts in the step that changes an entry), so
every process on every host reports the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from imagecache.domain.ports import TenantAccounts
from imagecache.domain.tenants import REFUSING, Tenants

ANSWERS = ("hits", "misses", "refreshes", "dedupes", "stale_hits", "error_hits")
"""How a tenant's requests were answered, by the names of the cache's own counters (statistics.py): a request that
joins another tenant's fetch counts as that tenant's dedupe and the other's miss."""


@dataclass(frozen=True)
class TenantRow:
    name: str
    quotas: dict[str, int]  # the bounds set
    pending: int  # entries it started that are still pending
    stored_bytes: int  # bytes of the results it started that are kept
    evicted: int  # of its results, evicted to keep it within stored_bytes
    requests: dict[str, int]  # by how each was answered (ANSWERS)
    refused: dict[str, int]  # requests refused, by the quota that refused them


class TenantReport:
    def __init__(self, tenants: Tenants, accounts: TenantAccounts) -> None:
        self._tenants = tenants
        self._accounts = accounts

    def rows(self) -> list[TenantRow]:
        names = sorted(self._tenants.named)
        return [self._row(name, figures) for name, figures in zip(names, self._accounts.figures(names))]

    def _row(self, name: str, figures: dict[str, int]) -> TenantRow:
        return TenantRow(
            name=name,
            quotas=self._tenants.quota(name).named(),
            pending=figures.get("pending", 0),
            stored_bytes=figures.get("bytes", 0),
            evicted=figures.get("evicted", 0),
            requests={answer: figures.get(answer, 0) for answer in ANSWERS},
            refused={quota: figures.get(f"refused_{quota}", 0) for quota in REFUSING},
        )

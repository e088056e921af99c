"""Tenants: who asks (the name of the API key a request came with; '' without keys) and what each may take.

A tenant's quotas, each optional:
- `fresh_per_minute`: productions it may start a minute (a request that joins a fetch under way, or that a stored
  result answers, costs the upstream nothing and is never refused); a smooth rate (GCRA) whose burst is a
  minute's worth;
- `pending`: entries it started that are still pending, at once (and runs going on whose entries were deleted);
- `stored_bytes`: bytes of the results it started that are kept; past it its own least recently used results are
  evicted first (services/capacity.py), the newest kept until whoever waits for it has read it.
Past the first two a request is refused with 429 and `Retry-After`, changing nothing (index/lua/entry_request.lua).

TENANTS names the tenants /info and /metrics show, one row each, so the figures' labels are bounded by
configuration; `*` gives the quotas of every tenant it does not name. The text is `;`-separated tenants, each
`name` or `name: quota=value, quota=value`, sizes as CACHE_MAX_BYTES takes them:
`alice: fresh_per_minute=600, pending=100, stored_bytes=5G; bob; *: pending=20`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType

from imagecache_client.sizes import parse_size

ANY = "*"
_NAME = re.compile(r"^[^\s:;,=*]{1,100}$")  # an API key's name TENANTS can name: no whitespace nor separator


@dataclass(frozen=True)
class Quota:
    """What one tenant may take; None: no bound."""

    fresh_per_minute: int | None = None
    pending: int | None = None
    stored_bytes: int | None = None

    def named(self) -> dict[str, int]:
        """The bounds set, by name (what /info and /metrics show)."""
        return {name: value for name, value in vars(self).items() if value is not None}


QUOTA_NAMES = tuple(quota.name for quota in fields(Quota))
REFUSING = ("fresh_per_minute", "pending")  # the quotas past which a request is refused (past stored_bytes: evicted)
NO_QUOTA = Quota()


@dataclass(frozen=True)
class Tenants:
    named: Mapping[str, Quota] = field(default_factory=lambda: MappingProxyType({}))
    others: Quota = NO_QUOTA  # the quotas of every tenant not named

    def quota(self, tenant: str) -> Quota:
        return self.named.get(tenant, self.others)

    @property
    def budgeted(self) -> bool:
        """Whether some tenant has a `stored_bytes` quota (eviction then looks at tenants first)."""
        return any(quota.stored_bytes is not None for quota in (*self.named.values(), self.others))

    @classmethod
    def parse(cls, text: str, setting: str) -> Tenants:
        """From the setting's text; ValueError naming the setting and the first part that is not valid."""
        named: dict[str, Quota] = {}
        try:
            for part in filter(None, (chunk.strip() for chunk in text.split(";"))):
                name, _, bounds = (piece.strip() for piece in part.partition(":"))
                if name != ANY:
                    check_name(name)
                if name in named:
                    raise ValueError(f"tenant {name!r} is named twice")
                named[name] = _quota(name, bounds)
        except ValueError as exc:
            raise ValueError(f"{setting}: {exc}") from None
        others = named.pop(ANY, NO_QUOTA)
        return cls(MappingProxyType(named), others)


def check_name(name: str) -> str:
    """The name, if a tenant (an API key) may have it; else ValueError saying what a name may be."""
    if not _NAME.match(name):
        raise ValueError(f"{name!r} is not a tenant name: 1 to 100 characters, none of them blank or any of :;,=*")
    return name


def _quota(tenant: str, text: str) -> Quota:
    bounds: dict[str, int] = {}
    for pair in filter(None, (chunk.strip() for chunk in text.split(","))):
        name, equals, value = (piece.strip() for piece in pair.partition("="))
        if name not in QUOTA_NAMES or not equals:
            raise ValueError(f"{tenant}: {pair!r} is not quota=value; the quotas are {', '.join(QUOTA_NAMES)}")
        try:
            number = parse_size(value) if name == "stored_bytes" else int(value)
        except ValueError:
            kind = "a size such as 5G" if name == "stored_bytes" else "a whole number"
            raise ValueError(f"{tenant}: {name} must be {kind}, not {value!r}") from None
        if number < 0:
            raise ValueError(f"{tenant}: {name} must not be negative")
        if name in bounds:
            raise ValueError(f"{tenant}: {name} is given twice")
        bounds[name] = number
    return Quota(**bounds)

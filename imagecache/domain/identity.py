"""Who a /v1 token belongs to, as a TokenAuthority says."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Identity:
    user: str
    token_id: str

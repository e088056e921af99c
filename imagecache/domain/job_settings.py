"""JobSettings: what every process must know of a job kind, whether or not it runs it (what /jobs lists)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

JOB_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"
"""A job kind's name: what an entry point may be called and a request may name."""


@dataclass(frozen=True)
class JobSettings:
    name: str
    timeout: int  # seconds one run may take, every attempt and the storing of its result included
    retries: int  # transient failures tried again within one run
    concurrency: int  # runs at once across every worker host
    default_ttl: int  # seconds a result lives when its request names no ttl
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, fields: dict[str, Any]) -> JobSettings:
        return cls(
            name=str(fields["name"]),
            timeout=int(fields["timeout"]),
            retries=int(fields["retries"]),
            concurrency=int(fields["concurrency"]),
            default_ttl=int(fields["default_ttl"]),
            description=str(fields.get("description", "")),
        )

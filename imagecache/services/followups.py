"""Followups: what follows a change to an entry, where the deployment has it."""

from __future__ import annotations

from dataclasses import dataclass, field

from imagecache.domain.ports import Replication, Unreplicated
from imagecache.services.callbacks import CallbackDispatch


@dataclass(frozen=True)
class Followups:
    """The entry's callbacks dispatched (None: callbacks are off), and a wait for replicas to hold the write
    (REDIS_MIN_REPLICAS; none by default)."""

    callbacks: CallbackDispatch | None = None
    replication: Replication = field(default_factory=Unreplicated)

"""Progress of transfers: silent in the library, tqdm bars on a terminal in the CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from tqdm import tqdm

Advance = Callable[[int], None]
BAR_FROM_BYTES = 4 * 1024 * 1024


class Progress(Protocol):
    def transfer(self, label: str, total: int | None) -> AbstractContextManager[Advance]:
        """A context for one transfer, yielding a function told each new batch of bytes."""


class Silent:
    @contextmanager
    def transfer(self, label: str, total: int | None) -> Iterator[Advance]:
        yield lambda count: None


class Bars:
    """A byte bar per transfer of at least BAR_FROM_BYTES (or of unknown size), on stderr if it is a terminal."""

    @contextmanager
    def transfer(self, label: str, total: int | None) -> Iterator[Advance]:
        if total is not None and total < BAR_FROM_BYTES:
            yield lambda count: None
            return
        with tqdm(
            total=total, desc=label, unit="B", unit_scale=True, unit_divisor=1024, disable=None, leave=False
        ) as bar:
            yield bar.update


class Tally:
    """Bytes of many concurrent transfers added to one counter (prefill's bar shows the sum)."""

    def __init__(self, on_bytes: Advance) -> None:
        self._on_bytes = on_bytes

    @contextmanager
    def transfer(self, label: str, total: int | None) -> Iterator[Advance]:
        yield self._on_bytes

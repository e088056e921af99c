"""ErrorBackoff: how long a transient failure's error answers, so that a query that keeps failing cannot hammer
its upstream: `first` seconds (ERROR_TTL) after one failure, doubled at each consecutive failure of the same query,
at most `most` (ERROR_TTL_MAX). A success starts it over. The index counts the failures (index/lua/entry_fail.lua)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorBackoff:
    first: int
    most: int

    def seconds(self, failures: int) -> float:
        """The life of the error of the query's `failures`-th consecutive failure (the index's rule, for readers)."""
        return float(min(self.first * 2 ** (max(failures, 1) - 1), self.most))

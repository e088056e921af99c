"""What `imagecache-client prefill` shows: one progress bar for the whole run, and a summary at its end."""

from __future__ import annotations

import sys
import threading

from tqdm import tqdm

from imagecache_client.prefill import PrefillReport
from imagecache_client.sizes import human_bytes


class PrefillBar:
    """One bar for a whole prefill: items done, and bytes as they arrive (from many threads)."""

    def __init__(self, bar: tqdm) -> None:
        self._bar = bar
        self._bytes = 0
        self._counts = ""
        self._lock = threading.Lock()

    def add_bytes(self, count: int) -> None:
        with self._lock:
            self._bytes += count
            self._show()

    def update(self, report: PrefillReport) -> None:
        with self._lock:
            self._counts = f"{report.hits} hit, {report.fetched} fetched, {len(report.failures)} failed"
            self._bar.update(report.done - self._bar.n)
            self._show()

    def _show(self) -> None:
        self._bar.set_postfix_str(f"{self._counts} {human_bytes(self._bytes)}".strip(), refresh=False)


def summarise(report: PrefillReport) -> int:
    print(
        f"prefill: {report.total} items: {report.hits} hits, {report.fetched} fetched "
        f"({human_bytes(report.fetched_bytes)}), {len(report.failures)} failed"
    )
    for index, error in report.failures:
        print(f"  item {index + 1}: {error}", file=sys.stderr)
    codes = {error.exit_code for _, error in report.failures}
    return 0 if not codes else codes.pop() if len(codes) == 1 else 1

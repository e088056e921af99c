"""The filesystem store's put of one result against the floor: the same bytes written by bare system calls.

Each round stores PUTS results of SIZE bytes (a chart's size) under new keys, as the worker stores them, then
writes the same bytes the least a durable-on-rename store can (create a file, write it, set its small metadata as an
extended attribute, rename it into place), rounds alternating so drift on this machine hits both alike. The store's
cost is mostly the floor's: creating a file costs far more than writing 28 KB into it, and on ext4 without a journal
(this machine's disk) creating files where many were deleted in the last minutes costs more still (the kernel's
`recently_deleted` check on each candidate inode), so the floor's own figure moves from run to run. Figures are CPU
(user + system) per put; the ratio is the store's over the floor's, medians of the rounds.
"""

from __future__ import annotations

import functools
import io
import os
import resource
import shutil
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.harness import bare_put, figure
from imagecache.blobs.filesystem import FilesystemBlobStore
from imagecache.domain.entry_record import RESULTS

ROUNDS, PUTS, SIZE = 5, 1000, 28_000


def cpu_ms_per(call: Callable[[int], object], count: int) -> float:
    before = resource.getrusage(resource.RUSAGE_SELF)
    for n in range(count):
        call(n)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000 / count


def main() -> None:
    data, meta = os.urandom(SIZE), b'{"content_type": "image/png"}'
    root = Path(tempfile.mkdtemp(prefix="imagecache-bench-put-"))
    try:
        store = FilesystemBlobStore(root / "store", reproducible=(RESULTS,))  # as the cache keeps its results
        floor_root = root / "floor"
        (floor_root / "ab").mkdir(parents=True)

        def put(round_: int, n: int) -> None:
            store.put(f"{RESULTS}ab/r{round_}-{n}", io.BytesIO(data), "image/png", {"entry": "e" * 70})

        def bare(round_: int, n: int) -> None:
            bare_put(floor_root / "ab", f"r{round_}-{n}", data, meta)

        stores, floors = [], []
        for round_ in range(ROUNDS):
            stores.append(cpu_ms_per(functools.partial(put, round_), PUTS))
            floors.append(cpu_ms_per(functools.partial(bare, round_), PUTS))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    figure(f"put of a {SIZE:,}-byte result, CPU", f"{min(stores):.3f}-{max(stores):.3f} ms")
    figure("  the same bytes by bare system calls (floor)", f"{min(floors):.3f}-{max(floors):.3f} ms")
    figure("  against the floor (aim <= 2)", f"{statistics.median(stores) / statistics.median(floors):.2f}x")


if __name__ == "__main__":
    main()

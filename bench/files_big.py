"""A 1 GiB upload and download through /v1 (filesystem backend): MB/s each way, and the
peak RSS growth of all server processes together (the body must never sit in memory)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import aiohttp

from bench.harness import environment, figure
from bench.peer_figures import KBASE_BIG_DOWNLOAD_MB_S, KBASE_BIG_RSS_MIB, KBASE_BIG_UPLOAD_MB_S, versus

SIZE = 1024 * 1024 * 1024
CHUNK = 1024 * 1024


def server_pids(groups: list[int]) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) in groups:
                    pids.append(int(entry))
            except ProcessLookupError:
                pass
    return pids


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except FileNotFoundError:
            pass
    return total


class PeakRss:
    """Samples the summed RSS of the server processes every 20 ms."""

    def __init__(self, pids: list[int]) -> None:
        self._pids = pids
        self.baseline = rss_bytes(pids)
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_bytes(self._pids))

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def transfer(url: str, token: str, source: Path) -> tuple[float, float]:
    auth = {"Authorization": token}
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.post(url + "/v1/cache_id", json={"big": 1}, headers=auth) as r:
            cache_id = (await r.json())["cache_id"]
        form = aiohttp.FormData()
        with open(source, "rb") as body:
            form.add_field("file", body, filename="big.bin", content_type="application/octet-stream")
            started = time.perf_counter()
            async with session.post(f"{url}/v1/cache/{cache_id}", data=form, headers=auth) as r:
                assert r.status == 200, await r.text()
            up = time.perf_counter() - started
        started = time.perf_counter()
        received = 0
        async with session.get(f"{url}/v1/cache/{cache_id}", headers=auth) as r:
            async for chunk in r.content.iter_chunked(CHUNK):
                received += len(chunk)
        down = time.perf_counter() - started
        assert received == SIZE, received
    return up, down


def main() -> None:
    with environment(MAX_UPLOAD_BYTES=str(2 * SIZE)) as bench:
        source = bench.workdir / "big.bin"
        block = os.urandom(CHUNK)
        with open(source, "wb") as out:
            for _ in range(SIZE // CHUNK):
                out.write(block)
        groups = [process.pid for process in bench.stack.parts.values()]
        with PeakRss(server_pids(groups)) as rss:
            up, down = asyncio.run(transfer(bench.stack.url, bench.token, source))
    mb = SIZE / 1e6
    growth = (rss.peak - rss.baseline) / 2**20
    figure("1 GiB upload", f"{mb / up:,.0f} MB/s (aim >= 300), {versus(mb / up, KBASE_BIG_UPLOAD_MB_S)}")
    figure("1 GiB download", f"{mb / down:,.0f} MB/s (aim >= 1000), {versus(mb / down, KBASE_BIG_DOWNLOAD_MB_S)}")
    figure(
        "peak RSS growth, all server processes",
        f"{growth:.1f} MiB (aim < 64), {versus(growth, KBASE_BIG_RSS_MIB, lower_is_better=True)}",
    )


if __name__ == "__main__":
    main()

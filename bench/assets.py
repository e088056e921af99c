"""The S3 caches (AssetCache, VersionedCache) against the minio SDK doing the same by itself, in one run, on
moto's S3 server on loopback:

- publishing a 128 MiB version (`vc add`: hash, multipart upload with a conditional completion, manifest
  rewrite) vs `fput_object` of the same file;
- downloading it cold into the local cache (hashed, checked against the recorded sha256) vs `fget_object`;
- a warm hit, `vc(path)` and `assets.cache(url)`, vs the floor: `stat()` of the cached file;
- the peak RSS growth of a process that publishes and downloads it (nothing big may sit in memory).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

from minio import Minio

from bench.client import timed_ms
from bench.harness import figure, percentile
from imagecache_client import AssetCache, AssetConfig, VersionedCache
from testkit.processes import free_port, http_ok, wait_until

BIG = 128 * 1024 * 1024
ROUNDS = 3
HITS = 2000
CREDENTIALS = {"access_key": "testing", "secret_key": "testing"}


def seconds(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def timed_us(call: Callable[[], object], times: int) -> list[float]:
    return [ms * 1000 for ms in timed_ms(call, times)]


def caches(endpoint: str, root: Path, bucket: str) -> VersionedCache:
    config = AssetConfig(endpoint=endpoint, **CREDENTIALS, cache_dir=root / "local")
    return VersionedCache(AssetCache(config), root / "versioned_assets.json", bucket)


def transfers(endpoint: str, sdk: Minio, bucket: str, scratch: Path, source: Path) -> VersionedCache:
    """ROUNDS of each, ours and the reference taking turns (the medians: one transfer swings with the disk)."""
    mb = BIG / 1e6
    vc = caches(endpoint, scratch / "publisher", bucket)
    reference_up, ours_up, reference_down, ours_down = [], [], [], []
    for n in range(ROUNDS):
        reference_up.append(seconds(partial(sdk.fput_object, bucket, f"reference/{n}.bin", str(source))))
        ours_up.append(seconds(partial(vc.add, f"/big/{n}.bin", source)))
        reader = caches(endpoint, scratch / f"reader-{n}", bucket)
        reader.manifest.path.write_text(vc.manifest.path.read_text())
        by_sdk = scratch / "by-sdk.bin"
        reference_down.append(seconds(partial(sdk.fget_object, bucket, f"reference/{n}.bin", str(by_sdk))))
        ours_down.append(seconds(partial(reader, f"/big/{n}.bin")))
        by_sdk.unlink()
        if n < ROUNDS - 1:
            reader.assets.local.clear()
    up, ref_up, down, ref_down = (
        statistics.median(times) for times in (ours_up, reference_up, ours_down, reference_down)
    )
    figure("publish 128 MiB (vc add)", f"{mb / up:.0f} MB/s; fput_object {mb / ref_up:.0f} MB/s")
    figure("  ratio fput_object/vc add (aim >= 0.8)", f"{ref_up / up:.2f}")
    figure("download 128 MiB cold (vc(path))", f"{mb / down:.0f} MB/s; fget_object {mb / ref_down:.0f} MB/s")
    figure("  ratio fget_object/vc(path) (aim >= 0.8)", f"{ref_down / down:.2f}")
    return reader


def hits(reader: VersionedCache) -> None:
    """A warm hit against the floor, stat() of the file it hands out."""
    path = reader(f"/big/{ROUNDS - 1}.bin")
    url = reader.url(f"/big/{ROUNDS - 1}.bin", reader.versions(f"/big/{ROUNDS - 1}.bin")[0])
    floor = timed_us(path.stat, HITS)
    versioned = timed_us(lambda: reader(f"/big/{ROUNDS - 1}.bin"), HITS)
    plain = timed_us(lambda: reader.assets.cache(url), HITS)
    figure("warm hit: stat() of the cached file (floor)", describe_us(floor))
    figure("warm hit: assets.cache(url)", describe_us(plain))
    figure("warm hit: vc(path) (reads the manifest)", describe_us(versioned))
    figure("  ratio vc(path)/floor p50", f"{percentile(versioned, 50) / percentile(floor, 50):.0f}")


def describe_us(samples: list[float]) -> str:
    return f"p50 {percentile(samples, 50):.1f} us, p99 {percentile(samples, 99):.1f} us"


def memory(endpoint: str, bucket: str, scratch: Path, source: Path) -> None:
    """Publish and download in a process of their own: its peak RSS growth past its imports."""
    child = f"""
import resource, sys
from pathlib import Path
from bench.assets import caches
vc = caches({endpoint!r}, Path({str(scratch / "child")!r}), {bucket!r})
base = int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize() // 1024  # resident now, KiB
vc.add("/memory.bin", Path({str(source)!r}))
vc.assets.local.clear()
assert vc("/memory.bin").stat().st_size == {BIG}
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024)
"""
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True, cwd=Path.cwd())
    figure("peak RSS growth, publish + download (aim < 64 MiB)", f"{int(done.stdout) / 2**20:.1f} MiB")


def main() -> None:
    port = free_port()
    # In memory where it can be: a VM disk's write speed swings between runs by 5x and would drown the client's cost.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(prefix="bench-assets-", dir=shm) as folder:
        scratch = Path(folder)
        log = open(scratch / "moto.log", "wb")
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log
        )
        try:
            endpoint = f"127.0.0.1:{port}"
            wait_until(lambda: http_ok(f"http://{endpoint}/moto-api/"), 30, "moto's S3 server")
            sdk = Minio(endpoint, **CREDENTIALS, secure=False)
            bucket = f"bench-{uuid.uuid4().hex[:8]}"
            sdk.make_bucket(bucket)
            source = scratch / "big.bin"
            with open(source, "wb") as out:
                for _ in range(BIG // 2**20):
                    out.write(os.urandom(2**20))
            hits(transfers(endpoint, sdk, bucket, scratch, source))
            memory(endpoint, bucket, scratch, source)
        finally:
            server.terminate()
            server.wait(10)
            log.close()


if __name__ == "__main__":
    main()

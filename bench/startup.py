"""What each process loads before it works: `imagecache admin` wall time, and the heavy packages each entry imports.

An admin command needs no web framework, a worker no Falcon, an fs store no minio: the composition root imports
each adapter when it is first built. Reference: a bare `python -c pass` in the same run.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

from bench.harness import figure

RUNS = 9
HEAVY = ("falcon", "gunicorn", "gevent", "rq", "minio", "PIL", "prometheus_client")
ENTRIES = {
    "admin command": "import imagecache.ops.cli, imagecache.ops.admin, imagecache.composition",
    "worker process": "import workers.worker",
    "maintenance process": "import workers.maintenance_loop",
    "web app factory": "import imagecache.web.app, imagecache.composition",
    "client": "import imagecache_client",
}
PROBE = (
    "import sys\n{imports}\n"
    "print(len(sys.modules), ' '.join(sorted({{m.split('.')[0] for m in sys.modules}} & {heavy})))"
)


def median_ms(command: list[str], env: dict[str, str]) -> float:
    runs = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "AUTH_TOKENS_FILE": os.path.join(tmp, "tokens")}
        bare = median_ms([sys.executable, "-c", "pass"], env)
        admin = median_ms([sys.executable, "-m", "imagecache.cli", "admin", "add-token", "bench"], env)
    figure("python -c pass (reference)", f"{bare:.0f} ms")
    figure("imagecache admin add-token", f"{admin:.0f} ms = {admin / bare:.1f} x the bare interpreter")
    for what, imports in ENTRIES.items():
        probe = PROBE.format(imports=imports, heavy=set(HEAVY))
        loaded = subprocess.run(
            [sys.executable, "-c", probe], check=True, capture_output=True, text=True
        ).stdout.split()
        figure(f"{what}: modules, heavy packages", f"{loaded[0]}; {' '.join(loaded[1:]) or 'none'}")


if __name__ == "__main__":
    main()

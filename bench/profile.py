"""Where the CPU of a fresh result goes: py-spy profiles of the worker and of each web worker under fresh-result load.

The load is bench/fresh_results.py's (16 clients, each POST a new query then GET its image, the simulator answering
at once), kept up for LOAD_SECONDS; py-spy samples only while a thread holds the GIL (`--gil`), so the shares are
of CPU, not of waiting. Prints, per process, the functions holding the most samples, their callees included,
and beside them the functions running when sampled (own). `python -m bench.profile FOLDER` keeps the folded stacks.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.fresh_results import produce_one
from bench.harness import environment, figure
from testkit.upstream import simulate

LOAD_SECONDS, SAMPLE_SECONDS, CLIENTS, TOP = 20, 12, 16, 25
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^)]*?)(?::\d+)?\)$")
_PLUMBING = ("threading.py", "greenlet", "hub.py", "baseserver.py", "ggevent.py", "base_async.py")


def processes(parts: dict[str, int]) -> dict[str, int]:
    """The worker, and each of gunicorn's web workers (the children of the web part)."""
    children = subprocess.run(["pgrep", "-P", str(parts["web"])], capture_output=True, text=True).stdout.split()
    return {"worker": parts["worker"], **{f"web worker {n}": int(pid) for n, pid in enumerate(children)}}


def record(pid: int, out: Path) -> subprocess.Popen[bytes]:
    command = ["py-spy", "record", "--pid", str(pid), "--duration", str(SAMPLE_SECONDS), "--rate", "200"]
    command += ["--gil", "--nonblocking", "--format", "raw", "--output", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def shares(folded: Path) -> tuple[int, Counter[str], Counter[str]]:
    """Samples in all; per function the samples of stacks it is on (inclusive), and of stacks it tops (own)."""
    total, inclusive, own = 0, Counter[str](), Counter[str]()
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        total += int(count)
        functions = []
        for frame in stack.split(";"):
            match = _FRAME.match(frame.strip())
            if match and not any(part in match["file"] for part in _PLUMBING):
                functions.append(f"{match['function']} ({Path(match['file']).name})")
        for function in set(functions):
            inclusive[function] += int(count)
        if functions:
            own[functions[-1]] += int(count)
    return total, inclusive, own


def main() -> None:
    if shutil.which("py-spy") is None:
        raise SystemExit("profile needs py-spy: pip install py-spy (make bench installs it)")
    with environment(WORKER_CONCURRENCY="16") as bench:
        simulate(bench.simulator, latency_ms=0)
        targets = processes({name: process.pid for name, process in bench.stack.parts.items()})
        stop = time.monotonic() + LOAD_SECONDS

        def keep_producing() -> int:
            done = 0
            while time.monotonic() < stop:
                produce_one(bench.stack.url)
                done += 1
            return done

        with ThreadPoolExecutor(CLIENTS) as pool:
            loads = [pool.submit(keep_producing) for _ in range(CLIENTS)]
            time.sleep(3)  # past the start: connections made, scripts loaded
            folder = Path(sys.argv[1]) if len(sys.argv) > 1 else bench.workdir  # to keep the folded stacks
            folder.mkdir(parents=True, exist_ok=True)
            outputs = {name: folder / f"profile-{name.replace(' ', '-')}.txt" for name in targets}
            for recorder in [record(targets[name], out) for name, out in outputs.items()]:
                recorder.wait()
            produced = sum(load.result() for load in loads)
        figure("fresh results during the profile", f"{produced / LOAD_SECONDS:.0f}/s")
        for name, out in outputs.items():
            total, inclusive, own = shares(out)
            print(f"-- {name}: {total} samples holding the GIL; inclusive | own")
            for (function, samples), (mine, alone) in zip(inclusive.most_common(TOP), own.most_common(TOP)):
                print(f"   {100 * samples / total:5.1f}%  {function:<60.60} | {100 * alone / total:5.1f}%  {mine}")


if __name__ == "__main__":
    main()

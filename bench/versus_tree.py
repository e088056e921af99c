"""This tree against another checkout of imagecache (an earlier commit), side by side on fresh results in one run.

`python -m bench.versus_tree OTHER [ROUNDS] [--fresh]`, where OTHER is a checkout (`git worktree add /tmp/before
<commit>`). Both stacks run at once against one simulator answering at once; blocks of BLOCK fresh results (16
clients, POST then GET the image) alternate between them, the order swapped each round. On a shared machine whose
speed drifts by tens of percent within minutes, alternating blocks is what lets two trees be compared: each figure
is the median over the rounds, and its ratio this tree's over the other's, with each round's ratio beside it.
With `--fresh`, each round starts new stacks, so it measures a new cache's first results, which long-lived stacks
no longer see (a cache's folders being made, say).
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

from redis import Redis

from bench.fresh_results import group_cpu_seconds, produce_one
from bench.harness import REDIS_URL, figure, file_floor, ratio
from imagecache.auth.static_tokens import StaticTokens
from testkit.processes import ROOT
from testkit.stack import Stack
from testkit.upstream import kentik_env, simulate, start_simulator

BLOCK, CLIENTS, WARMUP = 200, 16, 30
FIGURES = (
    "web CPU ms per result",
    "worker CPU ms per result",
    "web + worker CPU ms per result",
    "POST p50 ms",
    "POST -> image p50 ms",
    "results/s",
)


def block(stack: Stack, pool: ThreadPoolExecutor) -> dict[str, float]:
    """One block's figures, in FIGURES' order."""
    parts = {name: process.pid for name, process in stack.parts.items()}
    before = {name: group_cpu_seconds(pid) for name, pid in parts.items()}
    started = time.perf_counter()
    timings = list(pool.map(lambda _: produce_one(stack.url), range(BLOCK)))
    assert all(result.status == 200 for result in timings)
    wall = time.perf_counter() - started
    used = {name: (group_cpu_seconds(pid) - before[name]) * 1000 / BLOCK for name, pid in parts.items()}
    posted, total = statistics.median(t.posted_ms for t in timings), statistics.median(t.total_ms for t in timings)
    return dict(zip(FIGURES, (used["web"], used["worker"], used["web"] + used["worker"], posted, total, BLOCK / wall)))


@contextmanager
def stacks(trees: dict[str, Path]) -> Iterator[dict[str, Stack]]:
    """A stack from each tree, against one simulator answering at once."""
    workdir = Path(tempfile.mkdtemp(prefix="imagecache-bench-trees-"))
    Redis.from_url(REDIS_URL).flushdb()
    simulator, url = start_simulator(workdir / "simulator.log")
    simulate(url, latency_ms=0)
    with ExitStack() as started:
        started.callback(shutil.rmtree, workdir, ignore_errors=True)
        started.callback(simulator.stop)
        running = {}
        for name, tree in trees.items():
            folder = workdir / name
            folder.mkdir()
            StaticTokens(folder / "tokens").add("bench")
            env = {**kentik_env(REDIS_URL, url), "AUTH_MODE": "static", "AUTH_TOKENS_FILE": str(folder / "tokens")}
            env |= {"WEB_WORKERS": "2", "WORKER_CONCURRENCY": "16", "CACHE_MAINTENANCE_PERIOD": "60"}
            running[name] = Stack(env, folder, tree).start()
            started.callback(running[name].stop)
        yield running


def main() -> None:
    args = [arg for arg in sys.argv[1:] if arg != "--fresh"]
    fresh = "--fresh" in sys.argv[1:]
    if not args or not (Path(args[0]) / "imagecache").is_dir():
        raise SystemExit("usage: python -m bench.versus_tree OTHER_CHECKOUT [ROUNDS] [--fresh]")
    rounds = int(args[1]) if len(args) > 1 else 6
    trees = {"other": Path(args[0]).resolve(), "this": ROOT}
    file_floor()
    results: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    with ThreadPoolExecutor(CLIENTS) as pool:
        if fresh:  # new stacks, so new caches, every round: one result each to warm, not WARMUP
            for turn in range(rounds):
                with stacks(trees) as running:
                    _round(turn, running, pool, results, warmup=1)
        else:
            with stacks(trees) as running:
                for turn in range(rounds):
                    _round(turn, running, pool, results, warmup=WARMUP if turn == 0 else 0)
    stacks_were = "new stacks each round" if fresh else "the same two stacks throughout"
    figure(f"{rounds} rounds of {BLOCK} fresh results each", f"this tree, against {trees['other']}; {stacks_were}")
    for name in FIGURES:
        mine, theirs = ([r[name] for r in results[tree]] for tree in ("this", "other"))
        per_round = " ".join(ratio(a, b) for a, b in zip(mine, theirs))
        this, other = statistics.median(mine), statistics.median(theirs)
        figure(f"  {name}", f"{this:.2f} | {other:.2f}: {ratio(this, other)} ({per_round})")


def _round(
    turn: int,
    running: dict[str, Stack],
    pool: ThreadPoolExecutor,
    results: dict[str, list[dict[str, float]]],
    warmup: int,
) -> None:
    """A block on each stack, the order swapped every other round, after `warmup` results on each."""
    for stack in running.values():
        for _ in range(warmup):
            produce_one(stack.url)
    for name in sorted(running, reverse=bool(turn % 2)):
        results[name].append(block(running[name], pool))


if __name__ == "__main__":
    main()

"""Recovery in seconds, with production timings (16 worker slots, a maintenance pass a minute): the whole
stack SIGKILLed with 10 fetches running, a worker SIGKILLed mid-fetch, Redis stopped 5 s mid-fetch. Each figure
stands beside the upstream latency (the floor: one fetch must run again, or finish)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from redis import Redis

from bench.harness import REDIS_URL, environment, figure
from testkit.recovery import (
    PRODUCTION_SETTINGS,
    Recovered,
    redis_outage_mid_fetch,
    restart_with_pending,
    worker_killed_mid_fetch,
)
from testkit.redis_server import OwnRedis

LATENCY_MS = 3000


def report(name: str, recovered: Recovered, aim: str) -> None:
    figure(
        name,
        f"{recovered.seconds:.1f} s = {recovered.seconds * 1000 / LATENCY_MS:.2f} x upstream latency "
        f"({aim}); {recovered.upstream_calls} upstream calls, at most {recovered.most_attempts} attempts "
        f"per entry, {recovered.served} served",
    )


def main() -> None:
    figure("upstream latency (reference)", f"{LATENCY_MS / 1000:.1f} s")
    with environment(**PRODUCTION_SETTINGS) as bench:
        report(
            "restart to all 10 served",
            restart_with_pending(bench.stack, bench.simulator, Redis.from_url(REDIS_URL), LATENCY_MS),
            "aim <= 10 s, <= 2 calls each",
        )
    with environment(**PRODUCTION_SETTINGS) as bench:
        report(
            "worker kill to re-pickup",
            worker_killed_mid_fetch(bench.stack, bench.simulator, Redis.from_url(REDIS_URL), LATENCY_MS),
            "aim <= 5 s",
        )
    with tempfile.TemporaryDirectory() as tmp:
        own = OwnRedis(Path(tmp) / "redis").start()
        try:
            with environment(REDIS_URL=own.url, **PRODUCTION_SETTINGS) as bench:
                report(
                    "Redis back (after 5 s) to served",
                    redis_outage_mid_fetch(bench.stack, bench.simulator, own, LATENCY_MS),
                    "aim <= 5 s, exactly 1 call",
                )
        finally:
            own.stop()


if __name__ == "__main__":
    main()

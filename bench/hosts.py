"""imagecache over separate hosts (network namespaces on this machine, testkit/hosts.py: Redis, S3, the
upstream, two web hosts, two worker hosts, nginx in front): single flight across the web hosts, a worker host
lost mid-burst, a web host lost behind the proxy. Each figure stands beside its floor: one upstream call; the
lease TTL plus two rounds of fetches (8 entries under a cap of 4); no failed request."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.harness import figure
from testkit.host_scenarios import CLIENT_TRIES, identical_posts, web_host_lost, worker_host_lost
from testkit.hosts import deployed
from testkit.netns import available

CAP, LATENCY_MS, LEASE_TTL = 4, 1500, 2.0


def main() -> None:
    if why := available():
        figure("hosts", f"skipped: {why}")
        return
    settings = {"UPSTREAM_MAX_CONCURRENCY": str(CAP), "WORKER_CONCURRENCY": str(CAP), "ENTRY_WAIT_TIMEOUT": "20"}
    with tempfile.TemporaryDirectory() as tmp, deployed(Path(tmp), **settings) as deployment:
        ids, calls = identical_posts(deployment, 50)
        figure("50 identical POSTs over both web hosts", f"{calls} upstream call, {ids} id (aim 1, 1)")
        lost = worker_host_lost(deployment, CAP, LATENCY_MS)
        floor = LEASE_TTL + 2 * LATENCY_MS / 1000  # the held entries, then the ones queued behind them (cap 4)
        figure(
            "worker host lost mid-burst",
            f"all {lost.served} of {lost.entries} served {lost.seconds:.1f} s after the loss ({lost.held} held "
            f"there, {lost.upstream_calls} upstream calls); floor {floor:.1f} s = lease TTL + two fetch rounds",
        )
        seen = web_host_lost(deployment, seconds=10)
        figure(
            "web host lost behind the proxy",
            f"{seen.requests} requests: {len(seen.failed)} failed (aim 0), {len(seen.retried)} needed a client "
            f"retry (of {CLIENT_TRIES} tries), slowest {seen.slowest[0]:.2f} s "
            f"({seen.slowest[1]})",
        )


if __name__ == "__main__":
    main()

"""Two web and two worker instances on one Redis and one S3 server behave as one cache."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from itertools import cycle

import httpx

from testkit.stack import Stack
from testkit.upstream import kentik_env, make_query, simulate, upstream_stats


def test_single_flight_and_the_upstream_cap_hold_across_instances(redis_url, simulator, s3_server, tmp_path_factory):
    shared = {
        **kentik_env(redis_url, simulator),
        "REDIS_PREFIX": f"scale{uuid.uuid4().hex[:6]}:",
        "STORAGE": "minio",
        "MINIO_HOST": s3_server,
        "MINIO_ACCESS_KEY": "testing",
        "MINIO_SECRET_KEY": "testing",
        "MINIO_BUCKET_NAME": f"scale-{uuid.uuid4().hex[:8]}",
        "UPSTREAM_MAX_CONCURRENCY": "3",
        "WORKER_CONCURRENCY": "4",
    }
    hosts = [Stack(shared, tmp_path_factory.mktemp("host")) for _ in range(2)]
    try:
        for host in hosts:
            host.start("web", "worker")
        hosts[0].start_part("maintenance")
        simulate(simulator, latency_ms=500)

        query = make_query()
        urls = cycle(host.url for host in hosts)
        with ThreadPoolExecutor(50) as pool:
            posts = list(
                pool.map(
                    lambda url: httpx.post(url + "/requests", json={"api_query": query}, timeout=10),
                    [next(urls) for _ in range(50)],
                )
            )
        ids = {response.json()["id"] for response in posts}
        assert len(ids) == 1
        entry_id = ids.pop()
        assert all(httpx.get(f"{host.url}/image/{entry_id}", timeout=30).status_code == 200 for host in hosts)
        assert upstream_stats(simulator)["calls"] == 1

        simulate(simulator, latency_ms=500)
        distinct = [hosts[n % 2].request(make_query())["id"] for n in range(12)]
        assert all(
            httpx.get(f"{hosts[n % 2].url}/image/{entry_id}", timeout=60).status_code == 200
            for n, entry_id in enumerate(reversed(distinct))
        )
        stats = upstream_stats(simulator)
        assert stats["calls"] == 12 and stats["peak_concurrency"] == 3
        assert hosts[1].info()["live_workers"] == 8  # both hosts' workers are seen from either web
    finally:
        for host in hosts:
            host.stop()

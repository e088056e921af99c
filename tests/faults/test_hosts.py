"""imagecache over separate hosts (network namespaces: Redis, S3, the upstream, two web hosts, two worker hosts,
nginx in front): single flight and the upstream cap hold across hosts, and losing a worker host or a web host
loses nothing. Recovered means: every entry a lost worker host held is served within RECOVERED_WITHIN seconds
of the loss; every client request through the proxy succeeds within CLIENT_TRIES tries."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from testkit.host_scenarios import (
    identical_posts,
    post,
    web_host_lost,
    web_urls,
    worker_host_lost,
)
from testkit.hosts import deployed
from testkit.netns import available
from testkit.upstream import make_query, simulate, upstream_stats

pytestmark = pytest.mark.skipif(bool(available()), reason=available() or "")

CAP, SLOTS_PER_HOST = 4, 4
RECOVERED_WITHIN = 10.0


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    settings = {"UPSTREAM_MAX_CONCURRENCY": str(CAP), "WORKER_CONCURRENCY": str(SLOTS_PER_HOST)}
    with deployed(tmp_path_factory.mktemp("hosts"), ENTRY_WAIT_TIMEOUT="20", **settings) as deployment:
        yield deployment


def test_identical_requests_on_both_web_hosts_make_one_upstream_call(deployment):
    assert identical_posts(deployment, 50) == (1, 1)  # one id, one upstream call


def test_the_upstream_cap_holds_across_both_worker_hosts(deployment):
    simulate(deployment.simulator, latency_ms=400)
    webs = web_urls(deployment)
    ids = [post(webs[n % 2], make_query()) for n in range(4 * CAP)]
    with deployment.client() as client, ThreadPoolExecutor(len(ids)) as pool:
        assert set(pool.map(lambda i: client.get(f"/image/{i}").status_code, ids)) == {200}
    stats = upstream_stats(deployment.simulator)
    assert stats["calls"] == 4 * CAP and stats["peak_concurrency"] == CAP  # both hosts' 8 slots, capped at 4
    assert all("produce" in deployment.log_of(name, "worker") for name in ("worker1", "worker2"))


def test_a_lost_worker_host_s_entries_complete_on_the_other(deployment):
    lost = worker_host_lost(deployment, CAP)
    assert lost.held and lost.served == lost.entries and lost.seconds < RECOVERED_WITHIN, lost
    assert lost.entries <= lost.upstream_calls <= lost.entries + lost.held  # what it held was fetched again, once


def test_a_lost_web_host_behind_the_proxy_loses_nothing(deployment):
    seen = web_host_lost(deployment)
    assert not seen.failed, seen.failed
    assert len(seen.images) > 20 and len(seen.files) > 20
    with deployment.client() as client:
        for entry_id, content in seen.images.items():
            assert client.get(f"/image/{entry_id}").content == content
        for cache_id, body in seen.files.items():
            assert client.get(f"/v1/cache/{cache_id}").content == body

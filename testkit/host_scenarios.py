"""Scenarios on a deployment over separate hosts (testkit/hosts.py), each returning what it measured: the
fault tests assert on these figures, bench/hosts.py prints them."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from testkit.hosts import WEBS, Deployment
from testkit.processes import wait_until
from testkit.upstream import behave, make_query, simulate, upstream_stats

HELD_FETCH_SECONDS = 30  # longer than any start of a host; the simulator's sleeps outlive the lost host harmlessly
CLIENT_TRIES = 3  # what a client with retries does: the same request again on a 5xx or a broken connection


def post(url: str, query: dict) -> str:
    response = httpx.post(url + "/requests", json={"api_query": query}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def web_urls(deployment: Deployment) -> list[str]:
    return [deployment.web_url(name) for name in WEBS]


def identical_posts(deployment: Deployment, count: int = 50) -> tuple[int, int]:
    """`count` identical POSTs at once, alternating between the web hosts: (distinct ids, upstream calls)."""
    simulate(deployment.simulator, latency_ms=500)
    query, webs = make_query(), web_urls(deployment)
    with ThreadPoolExecutor(count) as pool:
        ids = set(pool.map(lambda n: post(webs[n % 2], query), range(count)))
    with deployment.client() as client:
        assert client.get(f"/image/{next(iter(ids))}").status_code == 200
    return len(ids), upstream_stats(deployment.simulator)["calls"]


@dataclass(frozen=True)
class WorkerHostLost:
    entries: int
    held: int  # entries the lost host was producing when it went
    served: int  # entries served 200 in the end
    seconds: float  # from the loss until every entry was served
    upstream_calls: int


def worker_host_lost(deployment: Deployment, cap: int, latency_ms: int = 1500) -> WorkerHostLost:
    """worker1 takes the first fetches of a burst of 2 x cap alone; worker2 comes back, then worker1 is lost
    mid-fetch (link cut, every process SIGKILLed); worker1 is restored after.

    worker1's fetches take HELD_FETCH_SECONDS, so it is still in them when it is lost however long worker2
    takes to start; every fetch after them takes `latency_ms`."""
    simulate(deployment.simulator, latency_ms=HELD_FETCH_SECONDS * 1000)
    deployment.network["worker2"].stop()
    webs, prefix = web_urls(deployment), deployment.env["REDIS_PREFIX"]
    ids = [post(webs[n % 2], make_query()) for n in range(2 * cap)]
    wait_until(lambda: upstream_stats(deployment.simulator)["calls"] == cap, 10, "worker1 to fetch")
    behave(deployment.simulator, latency_ms=latency_ms)
    leases = set(deployment.redis.scan_iter(match=prefix + "lease:*"))  # worker1's alone
    deployment.start_worker("worker2")
    deployment.lose("worker1")
    lost = time.monotonic()
    running = deployment.redis.hgetall(prefix + "running")
    held = [entry for entry, lease in running.items() if prefix + "lease:" + lease in leases]
    try:
        with deployment.client(timeout=60) as client, ThreadPoolExecutor(len(ids)) as pool:
            statuses = list(pool.map(lambda i: client.get(f"/image/{i}").status_code, ids))
        seconds = time.monotonic() - lost
    finally:
        deployment.restore("worker1")
    return WorkerHostLost(
        len(ids), len(held), statuses.count(200), seconds, upstream_stats(deployment.simulator)["calls"]
    )


@dataclass
class WebHostLost:
    requests: int = 0
    retried: list[str] = field(default_factory=list)  # requests that succeeded on a second or third try
    failed: list[str] = field(default_factory=list)  # requests that did not succeed within CLIENT_TRIES
    slowest: tuple[float, str] = (0.0, "")  # the longest any request took, its tries together, and which it was
    images: dict[str, bytes] = field(default_factory=dict)  # entry id -> the image served
    files: dict[str, bytes] = field(default_factory=dict)  # cache id -> the bytes uploaded
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, what: str, call: Callable[..., httpx.Response], *args: Any, **kwargs: Any) -> httpx.Response | None:
        """call(*args, **kwargs) as a client with retries sends it; the answer when it was a 200."""
        began = time.monotonic()
        response, tries = None, 0
        while tries < CLIENT_TRIES and (response is None or response.status_code >= 500):
            if tries:
                time.sleep(0.2)
            tries += 1
            try:
                response = call(*args, **kwargs)
            except httpx.TransportError:
                response = None
        ok = response is not None and response.status_code == 200
        with self.lock:
            self.requests += 1
            self.slowest = max(self.slowest, (time.monotonic() - began, what))
            (self.retried if ok and tries > 1 else self.failed if not ok else []).append(what)
        return response if ok else None


def web_host_lost(deployment: Deployment, seconds: float = 8.0, lose_at: float = 2.0, clients: int = 4) -> WebHostLost:
    """Clients POST, GET, make caches and upload through the proxy; web1 is lost `lose_at` seconds in (every
    process SIGKILLed, then its link cut) and restored after."""
    simulate(deployment.simulator, latency_ms=50)
    until, seen = time.monotonic() + seconds, WebHostLost()

    def client_loop() -> None:
        with deployment.client(timeout=30) as client:
            while time.monotonic() < until:
                posted = seen.send("POST /requests", client.post, "/requests", json={"api_query": make_query()})
                if posted is not None:
                    entry_id = posted.json()["id"]
                    if (got := seen.send("GET /image", client.get, f"/image/{entry_id}")) is not None:
                        seen.images[entry_id] = got.content
                made = seen.send("POST /v1/cache_id", client.post, "/v1/cache_id", json={"n": os.urandom(8).hex()})
                if made is not None:
                    cache_id, body = made.json()["cache_id"], os.urandom(32 * 1024)
                    upload = {"file": ("f.bin", body, "application/octet-stream")}
                    if seen.send("POST /v1/cache", client.post, f"/v1/cache/{cache_id}", files=upload) is not None:
                        seen.files[cache_id] = body

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(lose_at)
    deployment.lose_web("web1")
    try:
        for thread in threads:
            thread.join()
    finally:
        deployment.restore("web1")
    return seen

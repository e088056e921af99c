"""Nothing is lost when workers or the whole stack die mid-fetch."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from testkit.processes import wait_until
from testkit.upstream import make_query, simulate, upstream_stats


def calls(simulator: str) -> int:
    """Upstream calls since the last simulate(): unlike in-flight counts, immune to earlier tests' calls."""
    return upstream_stats(simulator)["calls"]


def test_worker_killed_mid_fetch_loses_nothing(stack_factory, simulator):
    stack = stack_factory()
    simulate(simulator, latency_ms=2000)
    entry_id = stack.request(make_query())["id"]
    wait_until(lambda: calls(simulator) == 1, 10, "the fetch to start")
    stack.parts["worker"].signal(signal.SIGKILL)

    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(httpx.get, f"{stack.url}/image/{entry_id}", timeout=60)
        stack.start_part("worker")
        response = waiting.result()
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    status = httpx.get(f"{stack.url}/requests/{entry_id}").json()
    assert status["status"] == "active"
    assert upstream_stats(simulator)["calls"] == 2


def test_whole_stack_killed_with_pending_entries_recovers_them(stack_factory, simulator):
    stack = stack_factory(WORKER_CONCURRENCY="2")
    simulate(simulator, latency_ms=1500)
    ids = [stack.request(make_query())["id"] for _ in range(5)]
    wait_until(lambda: calls(simulator) == 2, 10, "fetches to start")
    stack.kill()

    started = time.monotonic()
    stack.start("web")
    assert httpx.get(stack.url + "/info", timeout=5).json()["pending_count"] == 5
    answered_after = time.monotonic() - started
    stack.start_part("worker")
    stack.start_part("maintenance")
    for entry_id in ids:
        assert httpx.get(f"{stack.url}/image/{entry_id}", timeout=60).status_code == 200
    assert answered_after < 10
    assert stack.info()["pending_count"] == 0


def test_sigterm_lets_a_running_fetch_finish(stack_factory, simulator):
    stack = stack_factory()
    simulate(simulator, latency_ms=1500)
    entry_id = stack.request(make_query())["id"]
    wait_until(lambda: calls(simulator) == 1, 10, "the fetch to start")
    worker = stack.parts["worker"]
    worker.signal(signal.SIGTERM)
    worker.popen.wait(30)
    assert worker.popen.returncode == 0
    status = httpx.get(f"{stack.url}/requests/{entry_id}").json()
    assert status["status"] == "active"
    assert upstream_stats(simulator)["calls"] == 1


@pytest.mark.parametrize("part", ["web", "worker", "maintenance"])
def test_each_part_stops_cleanly_on_sigterm(stack_factory, part):
    stack = stack_factory()
    assert stack.parts[part].stop(timeout=40) == 0


def test_sigterm_to_web_lets_a_running_download_finish(stack_factory, tmp_path):
    from imagecache.auth.static_tokens import StaticTokens

    token = StaticTokens(tmp_path / "tokens").add("reader")
    stack = stack_factory(AUTH_MODE="static", AUTH_TOKENS_FILE=str(tmp_path / "tokens"))
    auth = {"Authorization": token}
    cache_id = httpx.post(stack.url + "/v1/cache_id", headers=auth, json={"big": 1}).json()["cache_id"]
    data = bytes(range(256)) * (256 * 1024)  # 64 MiB: far more than the socket buffers hold
    assert (
        httpx.post(
            f"{stack.url}/v1/cache/{cache_id}", headers=auth, files={"file": ("f", data)}, timeout=60
        ).status_code
        == 200
    )

    received = bytearray()
    with httpx.stream("GET", f"{stack.url}/v1/cache/{cache_id}", headers=auth, timeout=60) as download:
        chunks = download.iter_raw(64 * 1024)
        received += next(chunks)
        stack.parts["web"].signal(signal.SIGTERM)  # graceful: in-flight requests finish
        time.sleep(1)
        assert stack.parts["web"].alive()  # still sending
        for chunk in chunks:
            received += chunk
    assert bytes(received) == data
    stack.parts["web"].popen.wait(30)
    assert stack.parts["web"].popen.returncode == 0

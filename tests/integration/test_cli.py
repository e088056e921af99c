"""The `imagecache` command: `up` runs (and stops) the whole stack; bad config stops startup."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx

from testkit.processes import ROOT, Process, free_port, http_ok, wait_until
from testkit.upstream import make_query


def group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def test_up_runs_everything_on_embedded_defaults_and_stops_cleanly(tmp_path):
    port, redis_port = free_port(), free_port()
    env = {
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",  # nothing answers there: embedded Redis
        "CACHE_PATH": str(tmp_path / "cache"),
        "KT_AUTH_EMAIL": "",
        "KT_AUTH_TOKEN": "",
        "WEB_WORKERS": "1",
        "WORKER_CONCURRENCY": "2",
    }
    up = Process(["up", "--port", str(port), "--data-dir", str(tmp_path / "var")], env, tmp_path / "up.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_ok(url + "/health") or not up.alive(), 60, "the stack")
        created = httpx.post(url + "/requests", json={"api_query": make_query("jpg")}).json()
        response = httpx.get(f"{url}/image/{created['id']}", timeout=60)
        assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
        assert httpx.get(url + "/info").json()["renderer"] == "local"
        assert any(path.name.startswith("appendonly") for path in (tmp_path / "var" / "redis").iterdir())
    finally:
        up.popen.send_signal(signal.SIGTERM)
        code = up.popen.wait(60)
    assert code == 0, up.log()
    wait_until(lambda: group_gone(up.pid), 10, "every process of the stack to exit")


def test_bad_configuration_stops_startup_with_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "imagecache.cli", "web"],
        env={**os.environ, "KENTIK_API_RETRIES": "lots"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "KENTIK_API_RETRIES" in result.stderr

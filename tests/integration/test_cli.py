"""The `imagecache` command: `up` runs (and stops) the whole stack; bad config stops startup."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from testkit.processes import ROOT, Process, free_port, http_ok, wait_until
from testkit.upstream import make_query


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


def part_pids(log: str) -> list[int]:
    """Every process `up` started: its parts (the `up: web (pid N), ...` line) and an embedded Redis."""
    return [int(pid) for pid in re.findall(r"\(pid (\d+)\)", log)]


def embedded_env(tmp_path: Path) -> dict[str, str]:
    return {
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing answers there: embedded Redis
        "CACHE_PATH": str(tmp_path / "cache"),
        "KT_AUTH_EMAIL": "",
        "KT_AUTH_TOKEN": "",
        "WEB_WORKERS": "1",
        "WORKER_CONCURRENCY": "2",
    }


def start_up(tmp_path: Path, env: dict[str, str], port: int, name: str = "up") -> Process:
    up = Process(["up", "--port", str(port), "--data-dir", str(tmp_path / "var")], env, tmp_path / f"{name}.log")
    wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/health") or not up.alive(), 60, "the stack")
    return up


def test_up_runs_everything_on_embedded_defaults_and_stops_cleanly(tmp_path):
    port, env = free_port(), embedded_env(tmp_path)
    up = start_up(tmp_path, env, port)
    url = f"http://127.0.0.1:{port}"
    try:
        created = httpx.post(url + "/requests", json={"api_query": make_query("jpg")}).json()
        response = httpx.get(f"{url}/image/{created['id']}", timeout=60)
        assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
        assert httpx.get(url + "/info").json()["renderer"] == "local"
        assert any(path.name.startswith("appendonly") for path in (tmp_path / "var" / "redis").iterdir())
    finally:
        up.popen.send_signal(signal.SIGTERM)
        code = up.popen.wait(60)
    assert code == 0, up.log()
    wait_until(lambda: all(gone(pid) for pid in part_pids(up.log())), 10, "every process of the stack to exit")
    said = up.log()
    assert f"up: Redis: {env['REDIS_URL']} (embedded" in said and "up: blob store: filesystem at" in said
    assert "up: job kinds: chart" in said and "up: worker slots: 2" in said and "up: API keys: off" in said


def test_ctrl_c_stops_every_part_in_order_quietly_and_a_restart_counts_its_workers_at_once(tmp_path):
    """Ctrl-C at a terminal signals the whole foreground group; only the supervisor acts on it."""
    port, env = free_port(), embedded_env(tmp_path)
    up = start_up(tmp_path, env, port)
    url = f"http://127.0.0.1:{port}"
    created = httpx.post(url + "/requests", json={"api_query": make_query()}).json()
    assert httpx.get(f"{url}/image/{created['id']}", timeout=60).status_code == 200
    second = imagecache("up", "--port", str(free_port()), "--data-dir", str(tmp_path / "var"), **env)
    assert second.returncode == 2 and "is in use by another `imagecache up`" in second.stderr  # its Redis's files
    pids = part_pids(up.log())
    started = time.monotonic()
    up.signal(signal.SIGINT)
    code = up.popen.wait(15)
    stopped = time.monotonic() - started
    assert code == 0 and stopped < 10, f"stopped in {stopped:.1f} s"
    wait_until(lambda: all(gone(pid) for pid in pids), 5, "every part to exit")
    said = up.log()
    for noise in ("Traceback", "Error 111", "lost Redis subscription", "SystemExit", "killed"):
        assert noise not in said, said

    again = start_up(tmp_path, env, port, "again")
    try:
        workers = lambda: httpx.get(url + "/info").json()["live_workers"]  # noqa: E731
        wait_until(lambda: workers() > 0, 10, "the new worker to register its slots")
        assert workers() == 2  # its own two slots only: the first run's withdrew as it stopped
        assert httpx.get(f"{url}/image/{created['id']}").status_code == 200  # kept by the embedded Redis
    finally:
        again.stop()


def test_a_busy_port_is_one_line_naming_it_and_nothing_starts(tmp_path):
    env = embedded_env(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "imagecache.cli", "up", "--port", str(port), "--data-dir", str(tmp_path / "var")],
            env={**os.environ, **env},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr and "--port" in result.stderr
    assert not (tmp_path / "var").exists()  # no embedded Redis was started


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


def imagecache(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "imagecache.cli", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_admin_command_with_redis_away_is_one_line_and_its_own_exit_code():
    away = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    result = imagecache("admin", "expire-all", REDIS_URL=away)
    assert result.returncode == 3 and result.stderr.count("\n") == 1, result.stderr
    assert "admin expire-all: cannot reach Redis at redis://:***@127.0.0.1:" in result.stderr
    assert "hunter2" not in result.stderr and result.stdout == ""


def test_add_token_under_kbase_auth_is_refused_as_it_would_never_be_accepted(tmp_path):
    result = imagecache("admin", "add-token", "alice", AUTH_MODE="kbase", AUTH_TOKENS_FILE=str(tmp_path / "t"))
    assert result.returncode == 2 and "AUTH_MODE=static" in result.stderr and not (tmp_path / "t").exists()


def test_version():
    result = imagecache("--version")
    assert result.returncode == 0 and result.stdout.startswith("imagecache ")


def test_the_health_command_checks_each_part_as_its_role_is(stack_factory):
    stack = stack_factory()
    web = stack.parts["web"]
    assert imagecache("health", "web", "--pid", str(web.pid), "--port", stack.url.rpartition(":")[2]).returncode == 0
    assert imagecache("health", "--pid", str(web.pid)).returncode == 0  # its role and port from its command line
    worker = stack.parts["worker"]
    wait_until(lambda: imagecache("health", "--pid", str(worker.pid)).returncode == 0, 10, "the worker's heartbeat")
    maintenance = stack.parts["maintenance"]
    wait_until(lambda: imagecache("health", "--pid", str(maintenance.pid)).returncode == 0, 10, "maintenance's")
    stranger = imagecache("health", "worker", "--pid", str(os.getpid()))  # a process that never reached Redis
    assert (
        stranger.returncode == 1 and stranger.stderr.count("\n") == 1 and "has not yet reached Redis" in stranger.stderr
    )
    worker.popen.send_signal(signal.SIGSTOP)  # alive but stuck: its heartbeat ages
    try:
        wait_until(lambda: imagecache("health", "--pid", str(worker.pid)).returncode == 1, 20, "the stuck worker")
    finally:
        worker.popen.send_signal(signal.SIGCONT)

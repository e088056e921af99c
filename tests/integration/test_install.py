"""Installed as a user installs it: the built wheel, no extras, in a fresh venv, run from an empty directory.

`make` installs `.[test]`, which pulls in packages the server needs but might
forget to declare (pytest brings `packaging`, which gunicorn's gevent worker
imports), so only an install like this one proves the package serves.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from testkit.processes import ROOT, free_port, http_ok, spawn, wait_until


def run(args: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding the wheel built from this checkout and its declared dependencies, nothing else."""
    where = tmp_path_factory.mktemp("install")
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", where / "dist", ROOT])
    base = getattr(sys, "_base_executable", sys.executable)
    run([base, "-m", "venv", where / "venv"])
    outside = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    run([where / "venv" / "bin" / "pip", "install", "--quiet", *(where / "dist").glob("*.whl")], env=outside)
    return where / "venv" / "bin"


def test_the_wheel_without_extras_serves_every_example(installed: Path, tmp_path: Path) -> None:
    home = tmp_path / "empty"
    home.mkdir()
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(tmp_path),
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
    }  # nothing there: `up` embeds a Redis
    log = open(tmp_path / "up.log", "wb")
    up = spawn([installed / "imagecache", "up", "--port", str(port)], env, log, home)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_ok(url + "/health") or up.poll() is not None, 60, "the installed stack")
        assert up.poll() is None, (tmp_path / "up.log").read_text()
        smoke = run([sys.executable, ROOT / "run_tests.py", "--url", url, "--concurrent"])
        assert smoke.stdout.strip().endswith("5 passed, 0 failed")
        info = run([installed / "imagecache-client", "--url", url, "info"], cwd=home, env=env)
        assert '"active_count"' in info.stdout
        assert httpx.get(url + "/health").json()["status"] == "ok"
    finally:
        os.killpg(up.pid, signal.SIGTERM)
        code = up.wait(60)
        log.close()
    assert code == 0, (tmp_path / "up.log").read_text()
    assert "Traceback" not in (tmp_path / "up.log").read_text()
    assert not list(tmp_path.glob("imagecache-metrics-*"))  # the web process took its metrics directory along


def test_the_dockerfile_builds_and_installs_that_wheel() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "pip wheel --no-cache-dir --no-deps --wheel-dir /dist ." in text
    assert "pip install --no-cache-dir --prefix=/install /dist/*.whl" in text
    assert "[" not in text.split("pip install", 1)[1].split("\n", 1)[0]  # no extras

"""The deployment files stay valid (no Docker engine here: compose is checked, not run)."""

import shutil
import subprocess

import pytest

from tests.support.processes import ROOT


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_compose_file_is_valid():
    result = subprocess.run(["docker-compose", "config"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for service in ("redis", "minio", "web", "worker", "maintenance", "simulator", "callbacks", "proxy"):
        assert f"  {service}:" in result.stdout
    assert "--appendonly" in result.stdout


def test_dockerfile_runs_as_non_root():
    text = (ROOT / "Dockerfile").read_text()
    assert "USER imagecache" in text and "python:3.11-slim" in text

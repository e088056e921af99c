"""The deployment files stay valid (no Docker engine here: compose is checked, not run)."""

import shutil
import subprocess

import pytest
import yaml

from testkit.processes import ROOT


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_compose_file_is_valid():
    result = subprocess.run(["docker-compose", "config"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for service in ("redis", "minio", "web", "worker", "maintenance", "simulator", "callbacks", "proxy"):
        assert f"  {service}:" in result.stdout
    assert "--appendonly" in result.stdout


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_the_sentinel_override_adds_a_replica_and_three_sentinels_that_every_process_follows():
    files = ["-f", "docker-compose.yml", "-f", "deploy/compose.sentinel.yml"]
    result = subprocess.run(["docker-compose", *files, "config"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert {"redis-replica", "sentinel1", "sentinel2", "sentinel3"} <= services.keys()
    replica = services["redis-replica"]
    assert replica["environment"]["REPLICA_OF"] == "redis" and "replicaof" in replica["command"][-1]
    for name in ("redis", "redis-replica", "sentinel1", "sentinel2", "sentinel3"):
        assert any(volume.endswith(":/data:rw") for volume in services[name]["volumes"]), name  # roles outlive restarts
    for name in ("web", "worker", "maintenance", "callbacks"):
        assert services[name]["environment"]["REDIS_SENTINELS"].count(":26379") == 3, name


def test_dockerfile_runs_as_non_root():
    text = (ROOT / "Dockerfile").read_text()
    assert "USER imagecache" in text and "python:3.11-slim" in text

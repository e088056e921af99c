"""The deployment files stay valid (no Docker engine here: compose is checked, not run)."""

import shutil
import subprocess

import pytest
import yaml

from imagecache.ops.embedded_redis import LISTPACK_VALUE_BYTES
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
    for name in ("redis", "redis-replica"):  # the data servers keep the index's hashes compact, as the embedded one
        assert f"hash-max-listpack-value {LISTPACK_VALUE_BYTES}" in services[name]["command"][-1], name


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_the_compose_redis_keeps_the_index_hashes_compact():
    result = subprocess.run(["docker-compose", "config"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    command = yaml.safe_load(result.stdout)["services"]["redis"]["command"]
    assert command[command.index("--hash-max-listpack-value") + 1] == str(LISTPACK_VALUE_BYTES)


def test_dockerfile_runs_as_non_root():
    text = (ROOT / "Dockerfile").read_text()
    assert "USER imagecache" in text and "python:3.11-slim" in text


def compose_services() -> dict:
    """The compose file as compose reads it (its anchors merged), or as YAML where compose is not installed."""
    if shutil.which("docker-compose"):
        result = subprocess.run(["docker-compose", "config"], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return yaml.safe_load(result.stdout)["services"]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def test_every_setting_can_be_set_from_the_environment_or_dot_env():
    from imagecache.config import Config

    for name in ("web", "worker", "maintenance", "callbacks"):
        given = set(compose_services()[name]["environment"])
        assert {field.upper() for field in Config.model_fields} <= given, name


def test_each_service_of_the_image_is_checked_as_its_role_is():
    """The web over HTTP, the others by their heartbeat: a check for the web would fail every other part."""
    for name, service in compose_services().items():
        if service.get("image") != "imagecache:latest":
            continue
        test = service["healthcheck"]["test"]
        assert test[:3] == ["CMD", "imagecache", "health"] and test[3] == service["command"][0], name
    assert (
        'HEALTHCHECK --interval=15s --timeout=5s --start-period=30s CMD ["imagecache", "health"]'
        in (ROOT / "Dockerfile").read_text()
    )  # a container run from the image alone reads its role from its own command


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_one_command_makes_the_proxy_a_certificate(tmp_path):
    made = subprocess.run(
        ["make", "-s", "proxy-cert", f"CERT_DIR={tmp_path}", "CERT_NAME=cache.example.com"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    subject = subprocess.run(
        ["openssl", "x509", "-noout", "-subject", "-ext", "subjectAltName", "-in", str(tmp_path / "cert.pem")],
        capture_output=True,
        text=True,
    ).stdout
    assert "CN = cache.example.com" in subject and "DNS:cache.example.com" in subject
    assert (tmp_path / "key.pem").stat().st_mode & 0o077 == 0


PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(PROMTOOL is None, reason="promtool (apt's prometheus) is not installed")
def test_the_alert_rules_are_valid_and_fire_on_what_should_page():
    folder = ROOT / "deploy" / "prometheus"
    for command in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts.test.yml"]):
        result = subprocess.run([PROMTOOL, *command], cwd=folder, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(PROMTOOL is None, reason="promtool (apt's prometheus) is not installed")
def test_every_dashboard_query_is_valid_promql(tmp_path):
    """promtool parses each panel's query as a recording rule would hold it."""
    import json

    dashboard = json.loads((ROOT / "deploy" / "grafana" / "imagecache.json").read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    rules = [{"record": f"imagecache:panel_{n}", "expr": query} for n, query in enumerate(queries)]
    (tmp_path / "panels.yml").write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    result = subprocess.run([PROMTOOL, "check", "rules", "panels.yml"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0 and f"{len(queries)} rules found" in result.stdout, result.stdout + result.stderr

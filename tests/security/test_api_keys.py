"""Optional API keys: off by default; when on, Bearer keys guard the Kentik routes, /info and /metrics."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

from testkit.processes import ROOT
from testkit.upstream import make_query


def test_keys_guard_the_kentik_routes_and_never_reach_the_logs(stack_factory, tmp_path):
    env = {"API_KEYS_FILE": str(tmp_path / "keys")}
    made = subprocess.run(
        [sys.executable, "-m", "imagecache.cli", "admin", "add-key", "dashboard"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    key = made.stdout.strip()
    assert made.returncode == 0 and key and key not in (tmp_path / "keys").read_text()
    stack = stack_factory(**env)
    bearer = {"Authorization": f"Bearer {key}"}

    for request in (
        lambda h: httpx.post(stack.url + "/requests", json={"api_query": make_query()}, headers=h),
        lambda h: httpx.get(stack.url + "/info", headers=h),
        lambda h: httpx.get(stack.url + "/image/" + "a" * 64 + "_9999999999", headers=h),
        lambda h: httpx.post(stack.url + "/purge", json={"tags": ["nothing:here"]}, headers=h),
        lambda h: httpx.get(stack.url + "/jobs", headers=h),
    ):
        refused = request({})
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert refused.json()["type"] == "unauthorized"
        assert request({"Authorization": "Bearer wrong"}).status_code == 401
        assert request(bearer).status_code in (200, 404)

    entry_id = httpx.post(stack.url + "/requests", json={"api_query": make_query()}, headers=bearer).json()["id"]
    assert httpx.get(f"{stack.url}/image/{entry_id}", headers=bearer, timeout=30).status_code == 200
    assert httpx.get(stack.url + "/health").status_code == 200  # probes stay open
    assert httpx.get(stack.url + "/favicon.ico").status_code == 200
    for part in stack.parts.values():
        assert key not in part.log()


def test_keys_are_off_by_default(stack_factory):
    stack = stack_factory(parts=("web",))
    assert httpx.get(stack.url + "/info").status_code == 200


def test_a_key_name_tenants_could_not_name_is_refused_and_no_key_is_made(tmp_path):
    env = {**os.environ, "API_KEYS_FILE": str(tmp_path / "keys")}
    made = subprocess.run(
        [sys.executable, "-m", "imagecache.cli", "admin", "add-key", "team:a;b=c"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode != 0 and "'team:a;b=c' is not a tenant name" in made.stderr and not made.stdout
    assert not (tmp_path / "keys").exists() or not (tmp_path / "keys").read_text()

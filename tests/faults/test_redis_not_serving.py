"""A Redis that answers but will not serve (a replica, a failover, a long script) is an outage: 503, never 500."""

from __future__ import annotations

import threading

import httpx
import pytest
from redis import Redis
from redis.exceptions import ResponseError

from testkit.processes import free_port, wait_until
from testkit.redis_server import OwnRedis
from testkit.upstream import make_query


@pytest.fixture
def primary(tmp_path):
    server = OwnRedis(tmp_path / "primary", appendonly=False).start()
    yield server
    server.stop()


@pytest.fixture
def replica(tmp_path, primary):
    server = OwnRedis(tmp_path / "replica", appendonly=False).start()
    client = Redis.from_url(server.url)
    host, port = primary.url.split("//")[1].split("/")[0].split(":")
    client.replicaof(host, port)
    wait_until(lambda: client.info("replication")["master_link_status"] == "up", 15, "the replica to sync")
    yield server
    server.stop()


def post(stack):
    return httpx.post(stack.url + "/requests", json={"api_query": make_query()}, timeout=10)


def assert_outage(response):
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] and response.json()["msg"] == "cache index (Redis) is unavailable"


def test_a_read_only_replica_is_503(stack_factory, replica):
    stack = stack_factory(parts=("web",), REDIS_URL=replica.url)
    assert_outage(post(stack))  # READONLY
    assert "Traceback" not in stack.parts["web"].log()


def test_a_replica_cut_off_from_its_primary_is_503(stack_factory, replica):
    stack = stack_factory(parts=("web",), REDIS_URL=replica.url)
    client = Redis.from_url(replica.url)
    client.config_set("replica-serve-stale-data", "no")
    client.replicaof("127.0.0.1", free_port())  # a primary that is not there
    wait_until(lambda: client.info("replication")["master_link_status"] == "down", 15, "the link to drop")
    assert_outage(httpx.get(stack.url + "/requests/" + "a" * 64 + "_9999999999", timeout=10))  # MASTERDOWN
    assert_outage(post(stack))


def test_a_redis_busy_in_a_long_script_is_503(stack_factory, primary):
    stack = stack_factory(parts=("web",), REDIS_URL=primary.url)
    client = Redis.from_url(primary.url)
    client.config_set("lua-time-limit", 100)  # busy-reply-threshold since Redis 7
    spinning = threading.Thread(target=lambda: _run_quietly(lambda: client.eval("while true do end", 0)))
    spinning.start()
    try:
        wait_until(lambda: _busy(primary.url), 10, "Redis to be busy")
        assert_outage(post(stack))  # BUSY
    finally:
        Redis.from_url(primary.url).script_kill()
        spinning.join(10)
    assert post(stack).status_code == 200  # and it serves again at once


def _busy(url: str) -> bool:
    try:
        Redis.from_url(url, socket_timeout=1).ping()
    except ResponseError as exc:
        return str(exc).startswith("BUSY")
    return False


def _run_quietly(call) -> None:
    try:
        call()
    except ResponseError:
        pass  # killed by SCRIPT KILL, as intended

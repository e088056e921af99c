"""RedisConnector: a client for REDIS_URL's server, or one that follows the Sentinels' primary through a failover."""

from __future__ import annotations

import time

import pytest
from redis import Redis
from redis.exceptions import RedisError
from redis.sentinel import MasterNotFoundError

from imagecache.domain.outages import is_outage
from imagecache.index.notifier import PRIMARY_CHECK, RedisEntryNotifier
from imagecache.redis_access.connections import RedisConnector
from testkit.processes import free_port, wait_until
from testkit.sentinel import MASTER, SentinelGroup

FAILED_OVER_WITHIN = 10.0  # seconds from the kill until writes go through again


@pytest.fixture
def group(tmp_path):
    group = SentinelGroup(tmp_path, sentinel_password="sentinels-secret").start()
    yield group
    group.stop()


def addresses(group: SentinelGroup) -> list[tuple[str, int]]:
    return [(group.host, port) for port in group.sentinel_ports]


def test_without_sentinels_the_client_is_redis_url_s_in_a_bounded_pool(redis_url):
    client = RedisConnector(redis_url).pooled(3, decode_responses=True)
    assert client.ping() and client.connection_pool.max_connections == 3
    assert RedisConnector(redis_url).single().ping()


def test_the_client_follows_the_primary_through_a_failover_keeping_redis_url_s_database(group):
    connector = RedisConnector("redis://ignored-host:1/5", addresses(group), MASTER, "sentinels-secret")
    client = connector.pooled(4, socket_connect_timeout=1, socket_timeout=2, decode_responses=True)
    listener = connector.single(decode_responses=True)
    client.set("kept", "1")
    assert client.wait(1, 1000) == 1
    assert Redis(group.host, group.primary_port, db=5).get("kept") == b"1"
    old = group.kill_primary()
    killed = time.monotonic()
    failures = 0
    while True:
        try:
            client.set("after", "1")
            break
        except RedisError as exc:
            assert is_outage(exc), exc  # a 503 with Retry-After while the Sentinels choose, never a 500
            assert time.monotonic() - killed < FAILED_OVER_WITHIN
            failures += 1
            time.sleep(0.05)
    assert failures and client.get("kept") == "1"
    assert client.connection_pool.master_address[1] != old
    assert listener.ping()  # the subscription's client moved too


def test_a_wrong_sentinel_password_finds_no_primary_and_says_why(group):
    client = RedisConnector("redis://x/0", addresses(group), MASTER, "wrong").pooled(2)
    with pytest.raises(MasterNotFoundError, match="(?i)password"):
        client.ping()


def test_the_notifier_hears_the_new_primary_soon_after_a_graceful_failover(group):
    connector = RedisConnector("redis://x/0", addresses(group), MASTER, "sentinels-secret")
    listener = connector.single(decode_responses=True, socket_keepalive=True)
    notifier = RedisEntryNotifier(listener, "t:done", lambda: connector.primary_moved(listener))
    heard: list[str] = []
    notifier.add_listener(heard.append)
    old = group.current_primary()
    wait_until(lambda: group.client(old).publish("t:done", "first") and "first" in heard, 5, "the subscription")
    group.client(group.sentinel_ports[0]).execute_command("SENTINEL", "FAILOVER", MASTER)
    new = group.wait_for_failover(old)
    moved = time.monotonic()
    while "after" not in heard:  # the old primary stays up: only asking the Sentinels tells the subscription
        assert time.monotonic() - moved < PRIMARY_CHECK + 3
        group.client(new).publish("t:done", "after")
        time.sleep(0.2)


def test_a_connection_in_use_across_a_failover_is_forgotten_when_released(group):
    pool = RedisConnector("redis://x/0", addresses(group), MASTER, "sentinels-secret").pooled(4).connection_pool
    held = pool.get_connection()
    old = group.current_primary()
    group.client(group.sentinel_ports[0]).execute_command("SENTINEL", "FAILOVER", MASTER)
    new = group.wait_for_failover(old)
    wait_until(lambda: pool.get_master_address()[1] == new, 10, "every Sentinel to name it")  # as a new connection asks
    pool.release(held)
    assert held not in pool._connections  # else every failover leaves the connections then in use behind
    assert pool.get_connection().port != old


def test_with_every_sentinel_away_a_command_fails_at_once_as_an_outage():
    nobody = [("127.0.0.1", free_port()) for _ in range(3)]
    client = RedisConnector("redis://x/0", nobody, MASTER).pooled(2, socket_connect_timeout=1, socket_timeout=2)
    started = time.monotonic()
    with pytest.raises(MasterNotFoundError) as away:
        client.ping()
    assert is_outage(away.value) and time.monotonic() - started < 0.5  # a quick 503, not 10 s of retries

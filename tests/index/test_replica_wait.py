"""RedisReplicaWait: acknowledged writes wait until a replica holds them; with none answering, writes go on."""

from __future__ import annotations

import time

import pytest
from redis.exceptions import RedisError

from imagecache.domain.counter_fields import REPLICA_WAIT_TIMEOUTS, REPLICA_WAITS, UNREPLICATED_WRITES
from imagecache.domain.outages import is_outage
from imagecache.index.replica_wait import DEGRADED_SECONDS, RedisReplicaWait
from imagecache.redis_access.connections import RedisConnector
from imagecache.redis_access.keys import RedisKeys
from testkit.sentinel import MASTER, SentinelGroup


@pytest.fixture(scope="module")
def primary(tmp_path_factory):
    group = SentinelGroup(tmp_path_factory.mktemp("replicated")).start()
    yield group.client(group.primary_port)
    group.stop()


def counted(primary, prefix: str) -> dict[str, str]:
    return primary.hgetall(RedisKeys(prefix).stats)


def test_a_write_is_confirmed_once_the_replica_holds_it(primary):
    primary.set("t:written", "1")
    RedisReplicaWait(primary, "t1:", 1, 1000).confirm()
    assert primary.wait(1, 0) == 1  # nothing left unacknowledged
    assert counted(primary, "t1:") == {REPLICA_WAITS: "1"}


def test_no_replicas_asked_for_means_no_wait_and_no_write(primary):
    RedisReplicaWait(primary, "t2:", 0, 1000).confirm()
    assert counted(primary, "t2:") == {}


def test_too_few_replicas_time_out_once_then_writes_go_on_unwaited_for_a_while(primary):
    now = [100.0]
    wait = RedisReplicaWait(primary, "t3:", 2, 200, clock=lambda: now[0])
    started = time.monotonic()
    wait.confirm()
    assert 0.15 < time.monotonic() - started < 1.0
    started = time.monotonic()
    wait.confirm()
    assert time.monotonic() - started < 0.1
    now[0] += DEGRADED_SECONDS + 0.1
    wait.confirm()  # waits again: the replica may be back
    assert counted(primary, "t3:") == {REPLICA_WAITS: "2", REPLICA_WAIT_TIMEOUTS: "2", UNREPLICATED_WRITES: "1"}


def test_after_a_graceful_failover_a_write_on_the_old_primary_is_refused_never_acknowledged(tmp_path):
    group = SentinelGroup(tmp_path).start()
    try:
        connector = RedisConnector("redis://x/0", [(group.host, port) for port in group.sentinel_ports], MASTER)
        client = connector.pooled(2, socket_timeout=2, decode_responses=True)
        wait = RedisReplicaWait(client, "t4:", 1, 300, primary_moved=lambda: connector.primary_moved(client))
        client.set("t4:before", "1")
        wait.confirm()
        old = group.current_primary()
        group.client(group.sentinel_ports[0]).execute_command("SENTINEL", "FAILOVER", MASTER)
        new = group.wait_for_failover(old)
        with pytest.raises(RedisError) as refused:  # the idle connection still goes to the old primary
            client.set("t4:after", "1")
            wait.confirm()
        assert is_outage(refused.value)
        client.set("t4:after", "1")  # the retry reaches the new primary
        wait.confirm()
        assert group.client(new).get("t4:after") == "1" and group.client(new).get("t4:before") == "1"
    finally:
        group.stop()

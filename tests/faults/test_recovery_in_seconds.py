"""Recovery in seconds, nothing thrown away: with production timings (16 worker slots, a maintenance pass a
minute), a dead stack, a dead worker or a Redis outage costs seconds and no extra upstream call.

Bounds here are generous, to catch hangs and regressions to the old 30-60 s; bench/recovery.py measures.
"""

from __future__ import annotations

import os
import socket
import time
import uuid

import httpx
import pytest

from imagecache.auth.static_tokens import StaticTokens
from testkit.raw_http import read_response
from testkit.recovery import (
    PRODUCTION_SETTINGS,
    redis_outage_mid_fetch,
    restart_with_pending,
    worker_killed_mid_fetch,
)
from testkit.redis_server import OwnRedis

LATENCY_MS = 3000


def test_a_whole_stack_killed_serves_its_pending_entries_within_seconds(stack_factory, simulator, redis):
    stack = stack_factory(**PRODUCTION_SETTINGS)
    recovered = restart_with_pending(stack, simulator, redis, LATENCY_MS)
    assert recovered.served == 10
    assert recovered.seconds < 20, recovered  # the aim is 10 s; it took 37 s before leases
    assert recovered.most_attempts <= 2 and recovered.upstream_calls <= 20


def test_a_worker_killed_mid_fetch_is_picked_up_again_within_seconds(stack_factory, simulator, redis):
    stack = stack_factory(**PRODUCTION_SETTINGS)
    recovered = worker_killed_mid_fetch(stack, simulator, redis, LATENCY_MS)
    assert recovered.seconds < 10, recovered  # the aim is 5 s; it took 30 s and more before leases
    assert recovered.served == 1 and recovered.upstream_calls == 2


def test_a_result_in_hand_outlives_a_redis_outage(stack_factory, simulator, tmp_path):
    own = OwnRedis(tmp_path / "redis").start()
    try:
        stack = stack_factory(REDIS_URL=own.url, **PRODUCTION_SETTINGS)
        recovered = redis_outage_mid_fetch(stack, simulator, own, LATENCY_MS)
    finally:
        own.stop()
    assert recovered.seconds < 10, recovered  # the aim is 5 s; it took 32 s and a second upstream call before
    assert recovered.served == 1 and recovered.upstream_calls == 1


@pytest.mark.parametrize(("back_after", "hold"), [(2, 20), (6, 2)], ids=["Redis back in time", "Redis away too long"])
def test_an_upload_whose_index_write_meets_an_outage_is_indexed_or_leaves_nothing(
    stack_factory, tmp_path, back_after, hold
):
    redis = OwnRedis(tmp_path / "redis").start()
    try:
        token = StaticTokens(tmp_path / "tokens").add("alice")
        stack = stack_factory(
            parts=("web",),
            REDIS_URL=redis.url,
            AUTH_MODE="static",
            AUTH_TOKENS_FILE=str(tmp_path / "tokens"),
            ENTRY_WAIT_TIMEOUT=str(hold),
        )
        auth = {"Authorization": token}
        cache_id = httpx.post(stack.url + "/v1/cache_id", headers=auth, json={"j": uuid.uuid4().hex}).json()["cache_id"]
        assert httpx.post(f"{stack.url}/v1/cache/{cache_id}", headers=auth, files={"file": ("f", b"old")}).is_success
        data = os.urandom(200_000)
        boundary = "outage"
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n').encode()
        body += data + f"\r\n--{boundary}--\r\n".encode()
        head = (
            f"POST /v1/cache/{cache_id} HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        with socket.create_connection(("127.0.0.1", stack.port), timeout=60) as conn:
            conn.sendall(head.encode() + body[:1000])  # ownership is checked; the bytes are on their way
            time.sleep(0.5)
            redis.stop()
            conn.sendall(body[1000:])  # all of it arrives, is stored, and the index write meets the outage
            time.sleep(back_after)
            redis.start()
            answer = read_response(conn)

        folder = stack.workdir / "cache" / "files" / cache_id[:2] / cache_id
        blobs = [p for p in folder.iterdir() if not p.name.endswith(".meta")]
        assert not list((stack.workdir / "cache" / ".tmp").iterdir())
        got = httpx.get(f"{stack.url}/v1/cache/{cache_id}", headers=auth, timeout=30)
        if back_after < hold:
            assert answer.status == 200, answer.body
            assert got.content == data and len(blobs) == 2  # the new blob, and the old one in its grace period
        else:
            assert answer.status == 503, answer.body
            assert got.content == b"old" and len(blobs) == 1  # the new blob was removed: no orphan
    finally:
        redis.stop()

"""The Redis primary SIGKILLed under load: Sentinel promotes the replica and the stack follows it, no restart.

Recovered means, as numbers: every request answered within ANSWER_WITHIN
seconds, with 200 or an answer that says when to come back (503 with
Retry-After; for GET /image also 504 with Retry-After, an image not ready
within the wait, which a busy machine meets around the failover); every request
begun RECOVERED_WITHIN seconds after the kill succeeds; every result and file acknowledged before the
kill is served after it; no entry left pending, no blob nobody knows of.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from redis import Redis

from imagecache.auth.static_tokens import StaticTokens
from imagecache.blobs.filesystem import FilesystemBlobStore
from testkit.consistency import pending_count, unknown_blobs
from testkit.processes import wait_until
from testkit.sentinel import MASTER, SentinelGroup
from testkit.upstream import make_query, simulate

LOAD_SECONDS = 20.0
KILL_AT = 5.0
ANSWER_WITHIN = 5.0
RECOVERED_WITHIN = 10.0
QUERIES = 300
IMAGE_CLIENTS, FILE_CLIENTS = 6, 2


@dataclass(frozen=True)
class Answer:
    what: str
    began: float
    took: float
    status: int  # 0: no answer at all (the client gave up or the connection broke)
    retry_after: bool


@dataclass
class Load:
    """What the clients saw, and what was acknowledged to them (and when)."""

    answers: list[Answer] = field(default_factory=list)
    images: dict[str, float] = field(default_factory=dict)  # entry id -> when its POST was answered 200
    files: dict[str, tuple[bytes, float]] = field(default_factory=dict)  # cache id -> bytes, when stored
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, what: str, send: Callable[..., httpx.Response], *args: Any, **kwargs: Any) -> httpx.Response | None:
        """send(*args, **kwargs), its answer noted; the response when it was a 200."""
        began = time.monotonic()
        try:
            response = send(*args, **kwargs)
        except httpx.HTTPError:
            response = None
        answer = Answer(
            what,
            began,
            time.monotonic() - began,
            response.status_code if response is not None else 0,
            response is not None and "retry-after" in response.headers,
        )
        with self.lock:
            self.answers.append(answer)
        return response if answer.status == 200 else None


def answered_well(answer: Answer) -> bool:
    """200, or an answer that says when to come back."""
    come_back = (503, 504) if answer.what == "GET /image" else (503,)
    return answer.status == 200 or (answer.status in come_back and answer.retry_after)


def image_client(url: str, queries: list[dict], load: Load, until: float) -> None:
    with httpx.Client(base_url=url, timeout=ANSWER_WITHIN + 2) as client:
        while time.monotonic() < until:
            query = random.choice(queries)
            posted = load.call("POST /requests", client.post, "/requests", json={"api_query": query})
            if posted is None:
                continue
            entry_id = posted.json()["id"]
            load.images.setdefault(entry_id, time.monotonic())
            load.call("GET /image", client.get, f"/image/{entry_id}")


def file_client(url: str, token: str, load: Load, until: float) -> None:
    auth = {"Authorization": token}
    with httpx.Client(base_url=url, timeout=ANSWER_WITHIN + 2, headers=auth) as client:
        while time.monotonic() < until:
            made = load.call("POST /v1/cache_id", client.post, "/v1/cache_id", json={"n": random.random()})
            if made is None:
                continue
            cache_id, body = made.json()["cache_id"], os.urandom(64 * 1024)
            upload = {"file": ("part.bin", body, "application/octet-stream")}
            if load.call("POST /v1/cache", client.post, f"/v1/cache/{cache_id}", files=upload) is not None:
                load.files[cache_id] = (body, time.monotonic())
                load.call("GET /v1/cache", client.get, f"/v1/cache/{cache_id}")


def test_the_stack_follows_a_failover_and_keeps_what_it_acknowledged(stack_factory, simulator, tmp_path: Path):
    group = SentinelGroup(tmp_path / "redis").start()
    tokens = tmp_path / "tokens"
    token = StaticTokens(tokens).add("alice")
    stack = None
    try:
        simulate(simulator, latency_ms=20)
        stack = stack_factory(
            REDIS_URL="redis://primary-named-by-sentinel/0",
            REDIS_SENTINELS=group.sentinels,
            REDIS_SENTINEL_MASTER=MASTER,
            AUTH_MODE="static",
            AUTH_TOKENS_FILE=str(tokens),
            ENTRY_WAIT_TIMEOUT=str(ANSWER_WITHIN - 1),
            WEB_WORKERS="2",
        )
        queries = [make_query() for _ in range(QUERIES)]
        load = Load()
        started = time.monotonic()
        until = started + LOAD_SECONDS
        clients = [
            threading.Thread(target=image_client, args=(stack.url, queries, load, until)) for _ in range(IMAGE_CLIENTS)
        ]
        clients += [
            threading.Thread(target=file_client, args=(stack.url, token, load, until)) for _ in range(FILE_CLIENTS)
        ]
        for client in clients:
            client.start()
        time.sleep(KILL_AT)
        old = group.kill_primary()
        killed = time.monotonic()
        new = group.wait_for_failover(old)
        for client in clients:
            client.join()

        answers = load.answers
        assert len(answers) > 500, len(answers)
        wrong = [a for a in answers if not answered_well(a)]
        assert not wrong, wrong[:5]
        slow = [a for a in answers if a.took > ANSWER_WITHIN]
        assert not slow, slow[:5]
        late = [a for a in answers if a.began > killed + RECOVERED_WITHIN and a.status != 200]
        assert not late, late[:5]
        assert sum(a.status == 503 for a in answers) > 0  # the kill was felt: this test saw a failover
        assert sum(a.status == 200 and a.began > killed + RECOVERED_WITHIN for a in answers) > 100

        with httpx.Client(base_url=stack.url, timeout=30) as client:
            for entry_id, answered in load.images.items():
                if answered < killed:
                    assert client.get(f"/image/{entry_id}").status_code == 200, entry_id
            for cache_id, (body, stored) in load.files.items():
                if stored < killed:
                    got = client.get(f"/v1/cache/{cache_id}", headers={"Authorization": token})
                    assert got.status_code == 200 and got.content == body, cache_id

        redis = Redis("127.0.0.1", new, decode_responses=True)
        prefix = stack.env["REDIS_PREFIX"]
        wait_until(lambda: pending_count(redis, prefix) == 0, 15, "every pending entry to complete")
        stored = [blob.key for blob in FilesystemBlobStore(stack.env["CACHE_PATH"]).blobs()]
        assert stored and not unknown_blobs(redis, prefix, stored)
        assert int(redis.hget(f"{prefix}stats", "replica_waits") or 0) > 0
    finally:
        if stack is not None:
            stack.stop()  # while Redis is there to say goodbye to
        group.stop()

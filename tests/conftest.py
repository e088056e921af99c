"""Real services, started once per test run: Redis (own database), the
upstream simulator, moto's S3 server; stacks are started per module."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from imagecache.index.entry_index import RedisEntryIndex
from imagecache.queueing.rq_queue import RqJobQueue
from testkit.kbase_auth import StandInAuth
from testkit.processes import free_port, http_ok, wait_until
from testkit.receiver import Receiver
from testkit.stack import Stack
from testkit.upstream import kentik_env, simulate, start_simulator


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A database of this test process's own: each of pytest-xdist's workers takes the one below the last's."""
    base = os.environ.get("IMAGECACHE_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
    head, _, database = base.rpartition("/")
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    url = f"{head}/{int(database) - worker}"
    client = Redis.from_url(url)
    client.ping()
    client.flushdb()
    yield url
    client.flushdb()


@pytest.fixture
def redis(redis_url: str) -> Redis:
    return Redis.from_url(redis_url, decode_responses=True)


@pytest.fixture
def prefix(redis: Redis) -> Iterator[str]:
    """A key prefix of this test's own, removed afterwards."""
    value = f"u{uuid.uuid4().hex[:10]}:"
    yield value
    keys = list(redis.scan_iter(match=value + "*"))
    if keys:
        redis.delete(*keys)


@pytest.fixture
def entries(redis: Redis, prefix: str) -> RedisEntryIndex:
    """The image index under this test's own prefix."""
    return RedisEntryIndex(redis, prefix)


@pytest.fixture
def jobs(redis_url: str, prefix: str) -> Iterator[RqJobQueue]:
    """The job queue under this test's own prefix, emptied afterwards."""
    queue = RqJobQueue(Redis.from_url(redis_url), prefix)
    yield queue
    queue.queue.empty()


@pytest.fixture(scope="session")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, url = start_simulator(tmp_path_factory.mktemp("simulator") / "simulator.log")
    try:
        yield url
    finally:
        process.stop()


@pytest.fixture(scope="module", autouse=True)
def simulator_at_its_defaults(request: pytest.FixtureRequest) -> None:
    """Each test file meets the simulator as it starts (no latency, no failures), whatever the file run before it
    in this process left it doing: which files share a process depends on how pytest-xdist spreads them. It runs
    before the file's own fixtures, so a file-wide behaviour they set holds for the whole file."""
    here = [item for item in request.session.items if item.nodeid.startswith(request.node.nodeid + "::")]
    if any({"simulator", "stack", "stack_factory"} & set(getattr(item, "fixturenames", ())) for item in here):
        simulate(request.getfixturevalue("simulator"))


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3-compatible server on loopback."""
    import subprocess
    import sys

    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log
    )
    url = f"127.0.0.1:{port}"
    try:
        wait_until(lambda: http_ok(f"http://{url}/moto-api/"), 30, "moto's S3 server")
        yield url
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    """A callback receiver on loopback for this module."""
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stack_factory(redis_url: str, simulator: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[callable]:
    """Start stacks for this module; every process is stopped at its end."""
    stacks: list[Stack] = []

    def start(parts: tuple[str, ...] = (), **env: str) -> Stack:
        workdir: Path = tmp_path_factory.mktemp("stack")
        stack = Stack({**kentik_env(redis_url, simulator), **env}, workdir)
        stacks.append(stack)
        return stack.start(*parts)

    yield start
    for stack in stacks:
        stack.terminate()
    for stack in stacks:
        stack.stop()


@pytest.fixture(scope="session")
def kbase_auth() -> Iterator[StandInAuth]:
    auth = StandInAuth().start()
    yield auth
    auth.stop()

"""One live stack per test module (web, worker, maintenance on real Redis, the simulator upstream,
the stand-in KBase auth), and clients whose local cache lives in the test's own directory."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from imagecache_client import FileCacheClient, ImageCacheClient
from testkit.stack import Stack

ALICE = "token-alice"
BOB = "token-bob"


class Calls:
    """Every response a client received: what crossed the network, and what did not."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int]] = []

    def hook(self, response: httpx.Response) -> None:
        self.seen.append((response.request.method, response.request.url.path, response.status_code))

    def statuses(self, path_part: str) -> list[int]:
        return [status for _, path, status in self.seen if path_part in path]


@pytest.fixture(scope="module")
def stack(stack_factory, kbase_auth) -> Stack:
    return stack_factory(
        AUTH_MODE="kbase", KBASE_AUTH_URL=kbase_auth.url, WORKER_CONCURRENCY="16", ENTRY_WAIT_TIMEOUT="5"
    )


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def http(calls: Calls) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60, event_hooks={"response": [calls.hook]}) as client:
        yield client


@pytest.fixture
def images(stack: Stack, tmp_path, http) -> Iterator[ImageCacheClient]:
    with ImageCacheClient(stack.url, cache_dir=tmp_path / "local", http=http) as client:
        yield client


@pytest.fixture
def files(stack: Stack, tmp_path, http) -> Iterator[FileCacheClient]:
    with FileCacheClient(stack.url, ALICE, cache_dir=tmp_path / "local", http=http) as client:
        yield client

"""Storage that is full or unreachable: clear 507/503 answers, nothing half-written, recovery without restart."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import httpx
import pytest

from testkit.processes import free_port, http_ok, wait_until
from testkit.upstream import make_query, simulate


def answer(stack, **fields):
    entry_id = stack.request(make_query(), **fields)["id"]
    return httpx.get(f"{stack.url}/image/{entry_id}", timeout=60)


def _tmpfs(mount, options):
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root); the write path is covered in tests/blobs")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def small_disk(tmp_path):
    yield from _tmpfs(tmp_path / "small", "size=512k")


@pytest.fixture
def few_inodes(tmp_path):
    yield from _tmpfs(tmp_path / "few", "size=4m,nr_inodes=40")


def test_full_disk_answers_507_and_recovers(stack_factory, simulator, small_disk):
    stack = stack_factory(CACHE_PATH=str(small_disk / "cache"), ERROR_TTL="1")
    simulate(simulator, pad_to=1024 * 1024)  # bigger than the whole disk
    full = answer(stack)
    assert full.status_code == 507 and "full" in full.json()["msg"]
    assert list((small_disk / "cache" / ".tmp").iterdir()) == []  # no half-written blob left
    assert not (small_disk / "cache" / "images").exists() or not any((small_disk / "cache" / "images").rglob("*_*"))

    simulate(simulator)  # small images fit again
    time.sleep(1.1)
    assert answer(stack).status_code == 200


def test_a_disk_without_room_for_the_result_folders_still_starts_and_answers_507(stack_factory, simulator, few_inodes):
    stack = stack_factory(CACHE_PATH=str(few_inodes / "cache"), ERROR_TTL="1")
    made = len(list((few_inodes / "cache" / "images").iterdir()))
    assert 0 < made < 256  # the folders took the inodes there were, and the processes started all the same
    assert stack.parts["worker"].log().count("folders not made in advance") == 1  # one line, not one per folder
    simulate(simulator)
    full = answer(stack)
    assert full.status_code == 507 and "full" in full.json()["msg"]
    assert list((few_inodes / "cache" / ".tmp").iterdir()) == []


class MotoServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> MotoServer:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: http_ok(f"http://{self.endpoint}/moto-api/"), 30, "moto")
        return self

    def stop(self) -> None:
        if self._process:
            self._process.terminate()
            self._process.wait(10)


def test_object_storage_down_answers_503_and_recovers(stack_factory, simulator):
    moto = MotoServer().start()
    try:
        stack = stack_factory(
            STORAGE="minio",
            MINIO_HOST=moto.endpoint,
            MINIO_ACCESS_KEY="testing",
            MINIO_SECRET_KEY="testing",
            MINIO_BUCKET_NAME=f"b{uuid.uuid4().hex[:8]}",
            ERROR_TTL="1",
        )
        simulate(simulator)
        stored = stack.request(make_query())["id"]
        assert httpx.get(f"{stack.url}/image/{stored}", timeout=30).status_code == 200
        moto.stop()

        down = answer(stack)
        assert down.status_code == 503 and "could not be stored" in down.json()["msg"]
        serving = httpx.get(f"{stack.url}/image/{stored}", timeout=30)
        assert serving.status_code == 503 and serving.json()["msg"]
        assert httpx.get(stack.url + "/health", timeout=30).json()["down"] == ["storage"]

        moto.start()  # an empty server: the bucket is made again by the health check
        wait_until(lambda: httpx.get(stack.url + "/health", timeout=30).status_code == 200, 30, "recovery")
        time.sleep(1.1)
        assert answer(stack).status_code == 200
    finally:
        moto.stop()

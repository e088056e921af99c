"""What the client keeps on disk is its user's alone, and a manifest from a checkout cannot hang or fill it: the
local cache's folder is 0700 (a looser one tightened, with a warning), its files 0600, its blobs 0400; a manifest
is read only as a regular file of at most 16 MiB."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imagecache_client.errors import BadManifest
from imagecache_client.local import LocalCache
from imagecache_client.manifest import MAX_MANIFEST_BYTES, Manifest

SCRIPT = Path(sys.executable).parent / "imagecache-client"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def store_one(cache: LocalCache) -> Path:
    entry_id = f"{'a' * 64}_{time.time() + 600:.6f}"
    with cache.writer() as writer:
        writer.write(b"chart")
        assert mode(writer.path) == 0o600  # private while it is written, too
        cache.store_image("http://cache.example", entry_id, time.time(), "image/png", writer)
    image = cache.image("http://cache.example", entry_id)
    assert image is not None
    return image.path


def test_a_new_local_cache_is_its_users_alone(tmp_path):
    cache = LocalCache(tmp_path / "cache")
    blob = store_one(cache)
    with cache.lock("some asset"):
        locks = list((cache.root / "locks").iterdir())
    assert mode(cache.root) == 0o700 and all(mode(cache.root / sub) == 0o700 for sub in ("blobs", "tmp", "locks"))
    assert mode(blob) == 0o400
    index = sorted(cache.root.glob("index.sqlite3*"))
    assert len(index) >= 2 and all(mode(path) == 0o600 for path in index)  # with its -wal and -shm
    assert locks and all(mode(path) == 0o600 for path in locks)


def test_an_existing_looser_cache_is_tightened_with_a_warning(tmp_path, caplog):
    root = tmp_path / "cache"
    root.mkdir(mode=0o755)
    root.chmod(0o755)
    (root / "index.sqlite3").touch(mode=0o644)
    (root / "index.sqlite3").chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="imagecache.client"):
        LocalCache(root)
    assert mode(root) == 0o700 and mode(root / "index.sqlite3") == 0o600
    assert "was open to other users (mode 755); it is now 0700" in caplog.text


@pytest.fixture
def hostile(tmp_path) -> dict[str, Path]:
    """Manifests a checkout may hold: links to endless or silent files, a FIFO, one over the cap (sparse)."""
    (tmp_path / "zero.json").symlink_to("/dev/zero")
    (tmp_path / "random.json").symlink_to("/dev/urandom")
    os.mkfifo(tmp_path / "fifo.json")
    (tmp_path / "folder.json").mkdir()
    with open(tmp_path / "huge.json", "wb") as huge:
        huge.truncate(MAX_MANIFEST_BYTES + 1)
    return {path.stem: path for path in tmp_path.iterdir()}


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("zero", "not a regular file"),
        ("random", "not a regular file"),
        ("fifo", "not a regular file"),
        ("folder", "Is a directory|not a regular file"),
        ("huge", "larger than 16 MiB"),
    ],
)
def test_a_manifest_that_is_not_a_small_regular_file_is_refused_at_once(hostile, name, says):
    started = time.monotonic()
    with pytest.raises(BadManifest, match=says):
        Manifest(hostile[name]).pins()
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("name", ["zero", "fifo"])
def test_vc_get_with_such_a_manifest_exits_2_at_once(hostile, tmp_path, name):
    env = {**os.environ, "IMAGECACHE_CACHE_DIR": str(tmp_path / "local"), "MINIO_HOST": "127.0.0.1:9"}
    result = subprocess.run(
        [str(SCRIPT), "vc", "get", "/foo/bar.csv", "--manifest", str(hostile[name]), "--bucket", "assets"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "not a regular file" in result.stderr


@pytest.mark.skipif(os.getuid() != 0, reason="giving a folder to another user takes root")
def test_a_cache_folder_of_another_user_is_refused(tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    os.chown(theirs, 65534, 65534)
    with pytest.raises(PermissionError, match="belongs to another user"):
        LocalCache(theirs)


def test_an_index_that_is_a_link_is_never_followed(tmp_path):
    root = tmp_path / "cache"
    root.mkdir(mode=0o700)
    (root / "index.sqlite3").symlink_to(tmp_path / "somewhere-else")
    with pytest.raises(OSError):
        LocalCache(root)
    assert not (tmp_path / "somewhere-else").exists()

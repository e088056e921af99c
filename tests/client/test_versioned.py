"""VersionedCache against moto's S3 server: a manifest pins each path's version, versions are published once and
never written over, a pinned copy is never asked about again, and the bytes are checked against the sha256 their
publisher recorded."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import threading
import uuid
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from minio import Minio

from imagecache_client import AlreadyExists, AssetCache, AssetConfig, ClientError, NoLocalCopy, NotFound, Refused
from imagecache_client.manifest import Version
from imagecache_client.object_store import PART_SIZE
from imagecache_client.versioned import VersionedCache
from testkit.processes import free_port

CREDENTIALS = {"MINIO_ACCESS_KEY": "testing", "MINIO_SECRET_KEY": "testing"}


@pytest.fixture
def bucket(s3_server) -> str:
    name = f"versions-{uuid.uuid4().hex[:8]}"
    Minio(s3_server, access_key="testing", secret_key="testing", secure=False).make_bucket(name)
    return name


def versioned(
    endpoint: str, tmp_path, bucket: str, manifest: str = "versioned_assets.json", **settings
) -> VersionedCache:
    config = AssetConfig.from_env({"MINIO_HOST": endpoint, **CREDENTIALS}, cache_dir=tmp_path / "local", **settings)
    return VersionedCache(AssetCache(config), tmp_path / manifest, bucket)


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def unfinished_uploads(s3_server: str, bucket: str) -> list:
    s3 = boto3.client(
        "s3", endpoint_url=f"http://{s3_server}", aws_access_key_id="testing", aws_secret_access_key="testing",
        region_name="us-east-1",
    )  # fmt: skip
    return s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])


def test_the_manifest_pins_the_version_a_checkout_reads(s3_server, bucket, tmp_path):
    vc = versioned(s3_server, tmp_path, bucket)
    assert vc.add("/foo/bar.csv", write(tmp_path, "v1.csv", b"a,b\n1,2\n")) == Version(1, 0, 0)
    pinned_then = (tmp_path / "versioned_assets.json").read_text()
    assert json.loads(pinned_then) == {"/foo/bar.csv": "1.0.0"}
    assert vc("/foo/bar.csv").read_bytes() == b"a,b\n1,2\n"

    assert vc.update("/foo/bar.csv", write(tmp_path, "v2.csv", b"a,b\n3,4\n"), "minor") == Version(1, 1, 0)
    assert vc("/foo/bar.csv").read_bytes() == b"a,b\n3,4\n"
    assert vc.url("/foo/bar.csv", Version(1, 1, 0)) == f"s3://{bucket}/foo/bar.csv/1.1.0/bar.csv"

    (tmp_path / "old.json").write_text(pinned_then)  # an older revision of the code, and its manifest
    old = VersionedCache(vc.assets, tmp_path / "old.json", bucket)
    assert old("/foo/bar.csv").read_bytes() == b"a,b\n1,2\n"
    assert vc.versions("/foo/bar.csv") == [Version(1, 0, 0), Version(1, 1, 0)]
    [line] = vc.listing()
    assert (line.path, line.pinned, line.latest) == ("/foo/bar.csv", "1.1.0", Version(1, 1, 0))
    assert [(line.pinned, line.latest) for line in old.listing()] == [("1.0.0", Version(1, 1, 0))]


def test_update_bumps_the_newest_version_published_not_the_pinned_one(s3_server, bucket, tmp_path):
    mine = versioned(s3_server, tmp_path, bucket, "mine.json")
    mine.add("/model.bin", write(tmp_path, "m", b"1"), Version(0, 1, 6))
    theirs = VersionedCache(mine.assets, tmp_path / "theirs.json", bucket)
    (tmp_path / "theirs.json").write_text(json.dumps({"/model.bin": "0.1.6"}))
    assert theirs.update("/model.bin", write(tmp_path, "t", b"2"), "patch") == Version(0, 1, 7)
    assert mine.update("/model.bin", write(tmp_path, "m2", b"3"), "patch") == Version(0, 1, 8)
    assert mine.update("/model.bin", write(tmp_path, "m3", b"4"), "major") == Version(1, 0, 0)
    assert [str(v) for v in mine.versions("/model.bin")] == ["0.1.6", "0.1.7", "0.1.8", "1.0.0"]


def test_a_version_is_never_written_over(s3_server, bucket, tmp_path):
    vc = versioned(s3_server, tmp_path, bucket)
    vc.add("/a.txt", write(tmp_path, "a", b"first"))
    with pytest.raises(Refused, match="already has version 1.0.0 pinned; publish a new one with update"):
        vc.add("/a.txt", write(tmp_path, "b", b"second"))
    other = VersionedCache(vc.assets, tmp_path / "empty.json", bucket)  # a manifest that does not know it
    with pytest.raises(AlreadyExists, match="already published"):
        other.add("/a.txt", tmp_path / "b")
    with pytest.raises(Refused, match="already has versions up to 1.0.0"):
        other.add("/a.txt", tmp_path / "b", Version(2, 0, 0))
    with pytest.raises(AlreadyExists, match="never written over"):
        vc.assets.store.put_new(bucket, "a.txt/1.0.0/a.txt", tmp_path / "b", _sha256(b"second"))
    assert vc("/a.txt").read_bytes() == b"first"
    assert not (tmp_path / "empty.json").exists()
    assert other.add("/a.txt", tmp_path / "a") == Version(1, 0, 0)  # the same bytes: a retry whose answer was lost
    assert json.loads((tmp_path / "empty.json").read_text()) == {"/a.txt": "1.0.0"}
    assert unfinished_uploads(s3_server, bucket) == []


def test_of_two_publishers_who_found_a_version_free_the_later_is_refused_by_s3(s3_server, bucket, tmp_path):
    """Both found 1.0.0 free; the second's conditional completion is refused and its parts are aborted. (S3 and
    MinIO decide the condition atomically; moto's server does not for completions at the very same moment, so the
    test orders them.)"""
    first, second = (versioned(s3_server, tmp_path / name, bucket) for name in ("a", "b"))
    sources = [write(tmp_path, f"s{n}", bytes([n]) * (PART_SIZE + 100)) for n in range(2)]
    first.assets.store.put_new(bucket, "race/1.0.0/race", sources[0], _sha256(sources[0].read_bytes()))
    with pytest.raises(AlreadyExists):
        second.assets.store.put_new(bucket, "race/1.0.0/race", sources[1], _sha256(sources[1].read_bytes()))
    (tmp_path / "b" / "versioned_assets.json").write_text(json.dumps({"/race": "1.0.0"}))
    assert second("/race").read_bytes() == sources[0].read_bytes()
    assert unfinished_uploads(s3_server, bucket) == []


def test_a_file_that_changes_while_it_is_uploaded_publishes_nothing(s3_server, bucket, tmp_path):
    vc = versioned(s3_server, tmp_path, bucket)
    source = write(tmp_path, "big", os.urandom(PART_SIZE + 1))
    with pytest.raises(ClientError, match="changed while it was uploaded"):
        vc.assets.store.put_new(bucket, "moving/1.0.0/moving", source, _sha256(b"what it held before"))
    assert vc.versions("/moving") == [] and unfinished_uploads(s3_server, bucket) == []


def test_empty_and_multipart_files_come_back_whole_and_checked(s3_server, bucket, tmp_path):
    vc = versioned(s3_server, tmp_path, bucket)
    big = os.urandom(2 * PART_SIZE + 12345)
    vc.add("/empty", write(tmp_path, "empty", b""))
    vc.add("/refs/big.fa", write(tmp_path, "big.fa", big))
    fresh = versioned(s3_server, tmp_path / "elsewhere", bucket)  # another machine: the same manifest, no copies
    (tmp_path / "elsewhere").mkdir(exist_ok=True)
    (tmp_path / "elsewhere" / "versioned_assets.json").write_text((tmp_path / "versioned_assets.json").read_text())
    assert fresh("/empty").read_bytes() == b""
    got = fresh.fetched("/refs/big.fa")
    assert got.path.read_bytes() == big and not got.from_cache and got.size == len(big)
    assert fresh.fetched("/refs/big.fa").from_cache


def test_bytes_that_are_not_what_the_publisher_recorded_are_refused_and_nothing_kept(s3_server, bucket, tmp_path):
    vc = versioned(s3_server, tmp_path, bucket)
    client = Minio(s3_server, access_key="testing", secret_key="testing", secure=False)
    rotted = b"not what was published"
    client.put_object(bucket, "rot/1.0.0/rot", io.BytesIO(rotted), len(rotted), metadata={"sha256": _sha256(b"x")})
    (tmp_path / "versioned_assets.json").write_text(json.dumps({"/rot": "1.0.0"}))
    with pytest.raises(ClientError, match="corrupted: sha256"):
        vc("/rot")
    assert vc.assets.local.assets.get(vc.url("/rot", Version(1, 0, 0))) is None
    assert vc.assets.local.used_bytes() == 0


def test_a_pinned_version_is_never_asked_about_again(s3_server, bucket, tmp_path, caplog):
    vc = versioned(s3_server, tmp_path, bucket, revalidate_after=0)
    vc.add("/w.bin", write(tmp_path, "w", b"weights"))
    path = vc("/w.bin")
    away = versioned(f"127.0.0.1:{free_port()}", tmp_path, bucket, revalidate_after=0)  # same cache, no store
    with caplog.at_level(logging.WARNING, logger="imagecache.client"):
        assert away("/w.bin") == path
    assert caplog.text == ""  # not even a warning: the store was never asked
    assert away(away("/w.bin")) == path  # a path the cache handed out is returned as it is
    (tmp_path / "versioned_assets.json").write_text(json.dumps({"/w.bin": "1.0.0", "/never.bin": "2.0.0"}))
    with pytest.raises(NoLocalCopy):
        away("/never.bin")


def test_a_pin_may_name_a_local_or_s3_file_while_it_is_tried_out(s3_server, bucket, tmp_path):
    vc = versioned(s3_server, tmp_path, bucket, revalidate_after=0)
    (tmp_path / "drafts").mkdir()
    write(tmp_path / "drafts", "bar.csv", b"draft")
    client = Minio(s3_server, access_key="testing", secret_key="testing", secure=False)
    client.put_object(bucket, "shared/draft.csv", io.BytesIO(b"shared 1"), 8)
    pins = {"/local.csv": "drafts/bar.csv", "/shared.csv": f"s3://{bucket}/shared/draft.csv", "/gone.csv": "nope.csv"}
    (tmp_path / "versioned_assets.json").write_text(json.dumps(pins))
    assert vc("/local.csv") == tmp_path / "drafts" / "bar.csv"  # relative to the manifest's folder
    assert vc("/shared.csv").read_bytes() == b"shared 1"
    client.put_object(bucket, "shared/draft.csv", io.BytesIO(b"shared 2"), 8)
    assert vc("/shared.csv").read_bytes() == b"shared 2"  # an s3:// pin is an ordinary asset: revalidated
    with pytest.raises(NotFound, match="no such file"):
        vc("/gone.csv")


@pytest.mark.parametrize(
    "path", ["relative.csv", "//x", "/./x", "/a/../b", "/a/", "/a\nb", "", "/" + "x" * 600, "/m/2.0.0/w.bin", "/1.0.0"]
)
def test_odd_paths_are_refused_and_change_nothing(s3_server, bucket, tmp_path, path):
    vc = versioned(s3_server, tmp_path, bucket)
    with pytest.raises(Refused, match="not a versioned path"):
        vc.add(path, write(tmp_path, "f", b"f"))
    with pytest.raises(Refused, match="not a versioned path"):
        vc(path)
    assert not (tmp_path / "versioned_assets.json").exists()
    assert list(Minio(s3_server, "testing", "testing", secure=False).list_objects(bucket, recursive=True)) == []


def test_a_manifest_that_is_not_one_says_so(s3_server, bucket, tmp_path):
    vc = versioned(s3_server, tmp_path, bucket)
    for text, says in (("{", "not JSON|Expecting"), ("[]", "not a JSON object"), ('{"/a": "1.2"}', "not a version")):
        (tmp_path / "versioned_assets.json").write_text(text)
        with pytest.raises(ClientError, match=says):
            vc("/a")
    (tmp_path / "versioned_assets.json").write_text("{}")
    with pytest.raises(NotFound, match="not in the manifest"):
        vc("/a")
    with pytest.raises(NotFound, match="with add"):
        vc.update("/a", write(tmp_path, "a", b"a"), "patch")


def test_the_rewritten_manifest_keeps_its_mode_order_and_other_pins(s3_server, bucket, tmp_path):
    manifest = tmp_path / "versioned_assets.json"
    manifest.write_text(json.dumps({"/z.csv": "3.0.0", "/a.csv": "drafts/a.csv"}))
    manifest.chmod(0o640)
    vc = versioned(s3_server, tmp_path, bucket)
    vc.add("/m.csv", write(tmp_path, "m", b"m"))
    assert list(json.loads(manifest.read_text()).items()) == [
        ("/z.csv", "3.0.0"),
        ("/a.csv", "drafts/a.csv"),
        ("/m.csv", "1.0.0"),
    ]
    assert manifest.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_path_tried_out_as_a_file_is_published_with_add(s3_server, bucket, tmp_path):
    vc = versioned(s3_server, tmp_path, bucket)
    draft = write(tmp_path, "draft.csv", b"draft")
    (tmp_path / "versioned_assets.json").write_text(json.dumps({"/t.csv": "draft.csv"}))
    assert vc("/t.csv") == draft
    assert vc.add("/t.csv", draft) == Version(1, 0, 0)
    assert vc("/t.csv") != draft and vc("/t.csv").read_bytes() == b"draft"


def test_a_manifest_that_cannot_be_written_stops_the_publish_before_the_upload(s3_server, bucket, tmp_path):
    config = AssetConfig(endpoint=s3_server, access_key="testing", secret_key="testing", cache_dir=tmp_path / "l")
    vc = VersionedCache(AssetCache(config), tmp_path / "no-such-folder" / "versioned_assets.json", bucket)
    with pytest.raises(Refused, match="cannot be written"):
        vc.add("/x.csv", write(tmp_path, "x", b"x"))
    assert vc.versions("/x.csv") == [] and unfinished_uploads(s3_server, bucket) == []


def test_a_newer_pin_made_meanwhile_is_left_as_it_is(s3_server, bucket, tmp_path):
    vc = versioned(s3_server, tmp_path, bucket)
    (tmp_path / "versioned_assets.json").write_text(json.dumps({"/p.csv": "2.0.0"}))
    with pytest.raises(Refused, match="meanwhile pins 2.0.0"):
        vc._pin("/p.csv", Version(1, 5, 0))
    assert json.loads((tmp_path / "versioned_assets.json").read_text()) == {"/p.csv": "2.0.0"}


def test_a_store_that_answers_but_does_not_serve_is_an_outage_and_a_copy_is_used(s3_server, bucket, tmp_path, caplog):
    """A 503 page from a proxy, a 500 in S3's own XML: Unavailable, so a local copy serves (with a warning)."""
    url = f"s3://{bucket}/kept.txt"
    Minio(s3_server, "testing", "testing", secure=False).put_object(bucket, "kept.txt", io.BytesIO(b"kept"), 4)
    path = versioned(s3_server, tmp_path, bucket).assets.cache(url)
    for status, body in ((503, b"<html>maintenance</html>"), (500, S3_INTERNAL_ERROR)):
        with failing_store(status, body) as endpoint:
            away = versioned(endpoint, tmp_path, bucket, revalidate_after=0).assets
            with caplog.at_level(logging.WARNING, logger="imagecache.client"):
                assert away.cache(url) == path
            assert "not serving" in caplog.text
            with pytest.raises(NoLocalCopy, match="not serving"):
                away.cache(f"s3://{bucket}/never.txt")
            caplog.clear()


S3_INTERNAL_ERROR = b"<?xml version='1.0'?><Error><Code>InternalError</Code><Message>oops</Message></Error>"


@contextmanager
def failing_store(status: int, body: bytes):
    """An S3 endpoint on loopback that answers every request with `status` and `body`."""

    class Failing(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/xml" if body.startswith(b"<?xml") else "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_HEAD = do_PUT = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_path_handed_out_is_returned_as_it_is_from_any_kind_of_pin_or_cache_dir(
    s3_server, bucket, tmp_path, monkeypatch
):
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")  # a relative cache dir and manifest, as a user may give them
    config = AssetConfig(endpoint=s3_server, access_key="testing", secret_key="testing", cache_dir="relative-cache")
    vc = VersionedCache(AssetCache(config), "../versioned_assets.json", bucket)
    vc.add("/v.csv", write(tmp_path, "v", b"v"))
    write(tmp_path, "draft.csv", b"draft")
    vc.manifest.pin("/d.csv", "draft.csv")
    for path in ("/v.csv", "/d.csv"):
        handed_out = vc(path)
        assert handed_out.is_absolute() and vc(handed_out) == handed_out


def test_a_mistyped_s3_path_is_refused_not_taken_for_a_local_one(s3_server, bucket, tmp_path):
    assets = versioned(s3_server, tmp_path, bucket).assets
    for typo in ("S3://bucket/key", "s3:/bucket/key", "s3:bucket"):
        with pytest.raises(Refused, match="not an S3 object path"):
            assets.cache(typo)


def test_the_rewritten_manifest_goes_through_a_link_and_keeps_its_indent(s3_server, bucket, tmp_path):
    (tmp_path / "repo").mkdir()
    real = tmp_path / "repo" / "assets.json"
    real.write_text('{\n    "/z.csv": "3.0.0"\n}\n')
    (tmp_path / "versioned_assets.json").symlink_to(real)
    versioned(s3_server, tmp_path, bucket).add("/m.csv", write(tmp_path, "m", b"m"))
    assert (tmp_path / "versioned_assets.json").is_symlink()
    assert real.read_text() == '{\n    "/z.csv": "3.0.0",\n    "/m.csv": "1.0.0"\n}\n'


def test_a_manifest_just_made_with_touch_pins_nothing_yet(s3_server, bucket, tmp_path):
    (tmp_path / "versioned_assets.json").touch()
    vc = versioned(s3_server, tmp_path, bucket)
    assert vc.manifest.pins() == {}
    assert vc.add("/t.csv", write(tmp_path, "t", b"t"), "0.1.0") == Version(0, 1, 0)
    with pytest.raises(Refused, match="not a version"):
        vc.add("/u.csv", tmp_path / "t", "9.9.9/../../y")

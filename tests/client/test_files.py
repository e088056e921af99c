"""FileCacheClient against a live stack: the /v1 workflow, revalidation, produce-once, offline fallback."""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from imagecache_client import ClientError, FileCacheClient, NoLocalCopy, NotFound, Refused
from testkit.processes import ROOT
from tests.client.conftest import ALICE, BOB


def params() -> dict:
    return {"method": "assemble", "job": uuid.uuid4().hex}


def test_cache_id_is_the_servers(stack, files):
    wanted = params()
    answer = httpx.post(stack.url + "/v1/cache_id", headers={"Authorization": ALICE}, json=wanted).json()
    assert files.cache_id(wanted) == answer["cache_id"]
    assert files.cache_id(dict(reversed(wanted.items()))) == answer["cache_id"]


def test_an_upload_replaces_the_local_copy_of_the_ids_old_file(files, tmp_path):
    cache_id = files.cache_id(params())
    for version in ("old", "new"):
        source = tmp_path / f"{version}.txt"
        source.write_text(version)
        files.upload(cache_id, source)
        assert files.fetch(cache_id).read_text() == version  # not the old copy, though within a day


def test_upload_then_download_round_trip(stack, files, tmp_path):
    source = tmp_path / "contigs.fa"
    source.write_bytes(b"ACGT" * 300_000)
    cache_id = files.cache_id(params())
    stored = files.upload(cache_id, source)
    assert stored.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert stored.filename == "contigs.fa" and stored.size == source.stat().st_size
    on_server = httpx.get(f"{stack.url}/v1/cache/{cache_id}", headers={"Authorization": ALICE})
    assert on_server.content == source.read_bytes()

    (tmp_path / "out").mkdir()
    with FileCacheClient(stack.url, ALICE, cache_dir=tmp_path / "elsewhere") as fresh:
        dest = fresh.download(cache_id, tmp_path / "out" / "copy.fa")
        assert fresh.local.file(fresh.server, fresh.owner, cache_id).filename == "contigs.fa"
    assert dest.read_bytes() == source.read_bytes()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["copy.fa"]  # no temporary left beside it


def test_a_failed_download_leaves_dest_as_it_was(files, tmp_path):
    dest = tmp_path / "keep.txt"
    dest.write_text("old content")
    with pytest.raises(NotFound):
        files.download(files.cache_id(params()), dest)
    assert dest.read_text() == "old content" and [p.name for p in tmp_path.iterdir() if p.is_file()] == ["keep.txt"]


def test_delete_removes_the_file_here_and_there(files, tmp_path):
    source = tmp_path / "x.bin"
    source.write_bytes(b"x" * 1000)
    cache_id = files.cache_id(params())
    files.upload(cache_id, source)
    files.delete(cache_id)
    assert files.local.file(files.server, files.owner, cache_id) is None
    with pytest.raises(NotFound):
        files.fetch(cache_id)
    with pytest.raises(NotFound):
        files.delete(cache_id)


def test_revalidation_keeps_the_copy_on_304_and_takes_the_new_file_on_200(stack, files, calls, tmp_path):
    source = tmp_path / "v1.txt"
    source.write_text("version 1")
    cache_id = files.cache_id(params())
    files.upload(cache_id, source)  # the caller's file: not copied into the local cache
    assert files.fetch(cache_id).read_text() == "version 1"
    assert calls.statuses("/v1/cache/")[-1] == 200
    before = len(calls.seen)
    assert files.fetch(cache_id).read_text() == "version 1"
    assert len(calls.seen) == before  # within a day: no request at all

    files.revalidate_after = 0
    assert files.fetch(cache_id).read_text() == "version 1"
    assert calls.statuses("/v1/cache/")[-1] == 304

    replacement = tmp_path / "v2.txt"
    replacement.write_text("version 2")
    with FileCacheClient(stack.url, ALICE, cache_dir=tmp_path / "other") as other:
        other.upload(cache_id, replacement)
    assert files.fetch(cache_id).read_text() == "version 2"
    assert calls.statuses("/v1/cache/")[-1] == 200


def test_deleted_on_the_server_is_forgotten_here(stack, files, tmp_path):
    source = tmp_path / "gone.txt"
    source.write_text("soon deleted elsewhere")
    cache_id = files.cache_id(params())
    files.upload(cache_id, source)
    httpx.delete(f"{stack.url}/v1/cache/{cache_id}", headers={"Authorization": ALICE}).raise_for_status()
    files.revalidate_after = 0
    with pytest.raises(NotFound):
        files.fetch(cache_id)
    assert files.local.file(files.server, files.owner, cache_id) is None


def test_caching_a_cached_path_again_is_harmless(files, tmp_path):
    wanted = params()
    path = files.cached(wanted, lambda out: out.write_bytes(b"result"))
    cache_id = files.cache_id(wanted)
    assert files.upload(cache_id, path).sha256 == path.name  # the cached file uploaded again
    assert files.cached(wanted, lambda out: out.write_bytes(b"other")) == path  # same bytes, same blob
    assert files.download(cache_id, path) == path and path.read_bytes() == b"result"
    assert path.stat().st_mode & 0o777 == 0o400  # read-only, its owner's alone: shared by every record of these bytes
    with pytest.raises(ValueError, match="inside the local cache"):
        files.download(cache_id, files.local.root / "index.sqlite3")
    assert files.download(cache_id, tmp_path / "mine.bin").read_bytes() == b"result"
    (tmp_path / "mine.bin").write_bytes(b"a copy of one's own is writable")


def test_another_token_sharing_the_local_cache_is_asked_for_again(stack, files, tmp_path):
    cache_id = files.cache_id(params())
    files.cached({"for": cache_id}, lambda out: out.write_text("alice's"))
    alices = files.cache_id({"for": cache_id})
    with FileCacheClient(stack.url, BOB, cache_dir=files.local.root) as bob:
        with pytest.raises(Refused) as raised:
            bob.fetch(alices)  # alice's fresh copy is in this very cache, yet the server is asked
    assert raised.value.status == 403


def test_another_token_is_refused(stack, files, tmp_path):
    cache_id = files.cache_id(params())
    files.cached({"for": cache_id}, lambda out: out.write_text("alice's"))
    alices = files.cache_id({"for": cache_id})
    with FileCacheClient(stack.url, BOB, cache_dir=tmp_path / "bob") as bob:
        with pytest.raises(Refused) as raised:
            bob.fetch(alices)
    assert raised.value.status == 403
    with FileCacheClient(stack.url, "not-a-token", cache_dir=tmp_path / "nobody") as nobody:
        with pytest.raises(Refused):
            nobody.cache_id(params())


def test_cached_produces_once_then_serves(files):
    runs = []

    def produce(out):
        runs.append(out)
        out.write_text("expensive")

    wanted = params()
    first = files.cached(wanted, produce)
    assert first.read_text() == "expensive" and len(runs) == 1
    assert files.cached(wanted, produce) == first and len(runs) == 1
    assert not runs[0].exists()  # the producer's output was moved into the cache


def test_a_failing_producer_uploads_nothing(files):
    wanted = params()

    def produce(out):
        out.write_text("half")
        raise RuntimeError("job failed")

    with pytest.raises(RuntimeError):
        files.cached(wanted, produce)
    with pytest.raises(NotFound):
        files.fetch(files.cache_id(wanted))
    assert list((files.local.root / "tmp").iterdir()) == []
    with pytest.raises(ClientError, match="did not write"):
        files.cached(wanted, lambda out: None)


def test_memoize_caches_by_function_and_arguments(files):
    runs = []

    @files.memoize
    def assemble(reads: str, k: int = 31, *, path):
        runs.append((reads, k))
        path.write_text(f"{reads}:{k}")

    assert assemble("r1").read_text() == "r1:31"
    assert assemble(reads="r1", k=31).read_text() == "r1:31"
    assert assemble("r1", 21).read_text() == "r1:21"
    assert runs == [("r1", 31), ("r1", 21)]
    for wrong in (lambda: assemble(object()), lambda: assemble(), lambda: assemble("r1", path="x")):
        with pytest.raises(TypeError):
            wrong()
    assert len(runs) == 2
    with pytest.raises(TypeError, match="path"):
        files.memoize(lambda reads: None)
    with pytest.raises(TypeError, match="keyword-only"):
        files.memoize(lambda reads, path: None)


PRODUCER = """
import sys, time
from imagecache_client import FileCacheClient
url, token, cache_dir, job, log = sys.argv[1:6]
def produce(out):
    with open(log, "a") as runs:
        runs.write("ran\\n")
    time.sleep(1)
    out.write_text("made once")
client = FileCacheClient(url, token, cache_dir=cache_dir)
print(client.cached({"job": job}, produce).read_text())
"""


def test_concurrent_processes_produce_once(stack, tmp_path):
    job, log = uuid.uuid4().hex, tmp_path / "runs.log"
    args = [stack.url, ALICE, str(tmp_path / "shared"), job, str(log)]
    workers = [
        subprocess.Popen([sys.executable, "-c", PRODUCER, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outputs = [worker.communicate(timeout=120)[0].strip() for worker in workers]
    assert [worker.returncode for worker in workers] == [0] * 4
    assert outputs == ["made once"] * 4
    assert log.read_text() == "ran\n"


def test_offline_a_local_copy_is_used_with_a_warning(stack, files, caplog):
    wanted, never = params(), params()
    path = files.cached(wanted, lambda out: out.write_text("kept"))
    files.revalidate_after = 0
    stack.parts["web"].stop()
    try:
        with caplog.at_level(logging.WARNING, logger="imagecache.client"):
            assert files.fetch_params(wanted).path == path
        assert "local copy" in caplog.text
        with pytest.raises(NoLocalCopy, match="never cached"):
            files.fetch_params(never)
    finally:
        stack.start_part("web")
    assert files.fetch_params(wanted).path.read_text() == "kept"


def test_with_the_server_away_cached_produces_keeps_and_uploads_once_it_is_back(stack, files, caplog):
    """A cache failure is a miss, never a failed job."""
    wanted, runs = params(), []

    def produce(out: Path) -> None:
        runs.append(out)
        out.write_text("made while the server was away")

    stack.parts["web"].stop()
    try:
        with caplog.at_level(logging.WARNING, logger="imagecache.client"):
            path = files.cached(wanted, produce)
            assert files.cached(wanted, produce) == path  # from here, not produced again
        assert path.read_text() == "made while the server was away" and len(runs) == 1
        assert "uploaded on a later call" in caplog.text and "not uploaded yet" in caplog.text
    finally:
        stack.start_part("web")
    assert files.cached(wanted, produce) == path and len(runs) == 1  # uploaded now, still not produced again
    cache_id = files.cache_id(wanted)
    on_server = httpx.get(f"{stack.url}/v1/cache/{cache_id}", headers={"Authorization": ALICE})
    assert on_server.status_code == 200 and on_server.content == path.read_bytes()
    assert files.local.file(files.server, files.owner, cache_id).path == path  # now the file's local copy
    assert files.local.unsent.get(files.server, files.owner, files._params_key(wanted)) is None


def test_a_download_whose_bytes_do_not_match_the_servers_sha256_is_refused_and_nothing_kept(stack, files, tmp_path):
    source = tmp_path / "reads.fq"
    source.write_bytes(b"@r1\nACGT\n+\nIIII\n" * 1000)
    cache_id = files.cache_id(params())
    files.upload(cache_id, source)
    (blob,) = (path for path in Path(stack.env["CACHE_PATH"]).rglob(f"files/*/{cache_id}/*") if path.suffix != ".meta")
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes().replace(b"ACGT", b"ACGA"))  # rot on the server's disk: same size, same ETag
    with pytest.raises(ClientError, match="corrupted"):
        files.fetch(cache_id)
    assert files.local.file(files.server, files.owner, cache_id) is None
    assert not [entry for entry in files.local.listing() if entry.key == cache_id]

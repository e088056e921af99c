"""The contract every blob store keeps, run against both backends."""

import errno
import hashlib
import io
import os
import subprocess
import sys
import uuid

import pytest

from imagecache.blobs.filesystem import FilesystemBlobStore
from imagecache.blobs.s3 import S3BlobStore
from imagecache.domain.errors import BlobNotFound, SourceInterrupted, StorageFull, StorageUnavailable


@pytest.fixture(params=["fs", "s3"])
def store(request, tmp_path):
    if request.param == "fs":
        return FilesystemBlobStore(tmp_path / "blobs")
    endpoint = request.getfixturevalue("s3_server")
    s3 = S3BlobStore.connect(endpoint, "testing", "testing", f"b{uuid.uuid4().hex[:12]}", secure=False)
    s3.ensure_bucket()
    return s3


def read_all(stream):
    try:
        return b"".join(iter(lambda: stream.read(65536), b""))
    finally:
        stream.close()


def test_put_reports_size_and_sha256(store):
    data = b"x" * 100_000
    info = store.put("images/ab/one", io.BytesIO(data), "image/png")
    assert info.size == len(data) and info.sha256 == hashlib.sha256(data).hexdigest()
    assert read_all(store.open("images/ab/one")) == data


def test_open_reads_a_range(store):
    store.put("k/range", io.BytesIO(bytes(range(256))), "application/octet-stream")
    assert read_all(store.open("k/range", 10, 5)) == bytes(range(10, 15))


def test_replace_is_whole(store):
    store.put("k/same", io.BytesIO(b"old" * 1000), "text/plain")
    store.put("k/same", io.BytesIO(b"new"), "text/plain")
    assert read_all(store.open("k/same")) == b"new"


def test_missing_blob(store):
    with pytest.raises(BlobNotFound):
        read_all(store.open("k/missing"))


def test_delete_is_idempotent(store):
    store.put("k/gone", io.BytesIO(b"1"), "text/plain")
    store.delete("k/gone")
    store.delete("k/gone")
    with pytest.raises(BlobNotFound):
        read_all(store.open("k/gone"))


def test_metadata_is_listed_with_each_blob(store):
    store.put("images/ab/x", io.BytesIO(b"12345"), "image/png", {"kind": "image", "note": "Zürich: a/b"})
    store.put("files/cd/y/1", io.BytesIO(b"1"), "text/plain", {"kind": "file"})
    listed = {blob.key: blob for blob in store.blobs()}
    assert set(listed) == {"images/ab/x", "files/cd/y/1"}
    image = listed["images/ab/x"]
    assert (image.size, image.content_type) == (5, "image/png")
    assert image.metadata["kind"] == "image" and image.metadata["note"] == "Zürich: a/b"
    store.delete("images/ab/x")
    assert [blob.key for blob in store.blobs()] == ["files/cd/y/1"]


def test_check_passes_when_reachable(store):
    store.check()


@pytest.mark.parametrize("key", ["../escape", "/abs", "a/../../b", "a//b", "", ".hidden", "a/./b", "a\x00b"])
def test_keys_that_could_escape_are_refused(store, key):
    with pytest.raises(ValueError):
        store.put(key, io.BytesIO(b"1"), "text/plain")


def test_fs_reader_keeps_old_bytes_across_a_replace(tmp_path):
    store = FilesystemBlobStore(tmp_path)
    store.put("k/file", io.BytesIO(b"A" * 10), "text/plain")
    reader = store.open("k/file")
    store.put("k/file", io.BytesIO(b"B" * 10), "text/plain")
    assert read_all(reader) == b"A" * 10
    assert read_all(store.open("k/file")) == b"B" * 10


class _FailingStream:
    def __init__(self, error):
        self._error = error
        self._sent = False

    def read(self, size=-1):
        if not self._sent:
            self._sent = True
            return b"partial"
        raise self._error


def test_fs_interrupted_write_leaves_nothing(tmp_path):
    store = FilesystemBlobStore(tmp_path)
    with pytest.raises(SourceInterrupted):
        store.put("k/cut", _FailingStream(ConnectionResetError()), "text/plain")
    assert not (tmp_path / "k" / "cut").exists()
    assert list((tmp_path / ".tmp").iterdir()) == []


def _disk_full(source, target, length):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_fs_full_disk_is_reported_as_full(tmp_path, monkeypatch):
    store = FilesystemBlobStore(tmp_path)
    monkeypatch.setattr("imagecache.blobs.filesystem.shutil.copyfileobj", _disk_full)
    with pytest.raises(StorageFull):
        store.put("k/full", io.BytesIO(b"data"), "text/plain")
    assert list((tmp_path / ".tmp").iterdir()) == []


def test_fs_sweep_removes_stale_temporary_files(tmp_path):
    store = FilesystemBlobStore(tmp_path)
    (tmp_path / ".tmp" / "leftover").write_bytes(b"1")
    assert store.sweep(older_than=-1) == 1


def test_s3_unreachable_is_unavailable():
    store = S3BlobStore.connect("127.0.0.1:1", "a", "b", "bucket", secure=False)
    with pytest.raises(StorageUnavailable):
        store.check()


def test_fs_refuses_keys_that_lead_out_of_its_root_or_into_its_temporary_files(tmp_path):
    store = FilesystemBlobStore(tmp_path / "root")
    outside = tmp_path / "outside"
    outside.mkdir()
    (store.root / "images").mkdir()
    (store.root / "images" / "link").symlink_to(outside)
    (outside / "secret").write_bytes(b"not for clients")
    (store.root / ".tmp" / "partial").write_bytes(b"half")
    open_before = len(os.listdir("/proc/self/fd"))
    for key in ("images/link/secret", ".tmp", ".tmp/partial"):
        with pytest.raises(ValueError, match="invalid blob key"):
            store.path(key)
    for key in ("images/link/secret", ".tmp/partial"):
        with pytest.raises(ValueError, match="invalid blob key"):
            store.open(key)
    with pytest.raises(BlobNotFound):  # a folder's name
        store.open("images")
    assert len(os.listdir("/proc/self/fd")) == open_before  # what was opened to be refused is closed again
    assert store.path("images/a.png") == store.root / "images" / "a.png"


def test_fs_its_folders_are_made_as_it_opens_and_one_it_cannot_make_is_left_to_its_put(tmp_path, caplog):
    folders = ("images/00", "images/ff")
    store = FilesystemBlobStore(tmp_path / "root", folders=folders)
    assert all((store.root / folder).is_dir() for folder in folders)
    store.put("images/ff/one", io.BytesIO(b"x"), "image/png")
    FilesystemBlobStore(tmp_path / "root", folders=folders)  # opened again: nothing to make, nothing lost
    assert read_all(store.open("images/ff/one")) == b"x"
    outside = tmp_path / "outside"
    outside.mkdir()
    (store.root / "images" / "ab").symlink_to(outside)
    (store.root / "images" / "cd").write_bytes(b"a file where a folder would be")
    FilesystemBlobStore(tmp_path / "root", folders=("../escape", "images/ab/cd", "images/cd", "images/ee"))
    assert os.listdir(outside) == [] and not (tmp_path / "escape").exists()
    assert (store.root / "images" / "ee").is_dir()  # the others did not stop it
    (warning,) = [r.getMessage() for r in caplog.records if "not made in advance" in r.getMessage()]
    assert "2 of 4 folders" in warning and "../escape: invalid blob key" in warning  # a file there is a put's
    with pytest.raises(ValueError, match="invalid blob key"):  # the put answers for a folder leading out
        store.put("images/ab/cd/one", io.BytesIO(b"x"), "image/png")


def test_fs_a_fifo_in_its_root_is_no_blob_and_never_holds_an_open(tmp_path):
    store = FilesystemBlobStore(tmp_path)
    os.mkfifo(store.root / "fifo")
    with pytest.raises(BlobNotFound):  # with nobody writing, a blocking open would have waited forever
        store.open("fifo")


def reproducible(root):
    """A store as the cache makes one: results under images/ can be produced again, /v1 files cannot."""
    return FilesystemBlobStore(root, reproducible=("images/",))


def test_fs_a_result_is_one_file_carrying_its_metadata_a_file_keeps_its_sidecar(tmp_path):
    """A result's metadata rides on its own file (an attribute): one file per put. A blob the cache cannot
    produce again keeps a sidecar, which survives a copy that drops attributes."""
    store = reproducible(tmp_path)
    store.put("images/ab/one", io.BytesIO(b"png"), "image/png", {"kind": "image"})
    store.put("files/cd/two", io.BytesIO(b"txt"), "text/plain", {"kind": "file"})
    assert sorted(p.name for p in (tmp_path / "images" / "ab").iterdir()) == ["one"]
    assert sorted(p.name for p in (tmp_path / "files" / "cd").iterdir()) == ["two", "two.meta"]
    listed = {blob.key: (blob.content_type, blob.metadata) for blob in store.blobs()}
    assert listed == {
        "images/ab/one": ("image/png", {"kind": "image"}),
        "files/cd/two": ("text/plain", {"kind": "file"}),
    }


def test_fs_a_result_whose_attribute_a_copy_dropped_is_listed_without_metadata(tmp_path):
    """What `cp -r` or `rsync -a` leaves: the bytes without the attribute. The blob is still listed, with no
    metadata, so reindexing counts it as unknown instead of never seeing it."""
    store = reproducible(tmp_path)
    store.put("images/ab/one", io.BytesIO(b"png"), "image/png", {"kind": "image"})
    os.removexattr(tmp_path / "images" / "ab" / "one", "user.imagecache")
    (listed,) = store.blobs()
    assert (listed.key, listed.size, listed.metadata, listed.content_type) == (
        "images/ab/one",
        3,
        {},
        "application/octet-stream",
    )


def test_fs_links_and_other_non_files_are_not_listed(tmp_path):
    """A symbolic link inside the root would otherwise be listed with its target's attribute: two blobs for one
    result, and reindexing could keep the link and collect the file."""
    store = reproducible(tmp_path)
    store.put("images/ab/real", io.BytesIO(b"png"), "image/png", {"kind": "image"})
    (tmp_path / "images" / "ab" / "link").symlink_to(tmp_path / "images" / "ab" / "real")
    os.mkfifo(tmp_path / "images" / "ab" / "fifo")
    assert [blob.key for blob in store.blobs()] == ["images/ab/real"]


def test_fs_a_store_written_with_sidecars_is_still_listed_and_deleted_whole(tmp_path):
    """Results whose metadata is a `.meta` sidecar (a store from before, or a filesystem without attributes) are
    listed with it, and deleting one takes its sidecar too."""
    folder = tmp_path / "images" / "ab"
    folder.mkdir(parents=True)
    (folder / "old").write_bytes(b"png")
    (folder / "old.meta").write_text('{"content_type": "image/png", "sha256": "s", "kind": "image"}')
    store = reproducible(tmp_path)
    (listed,) = store.blobs()
    assert (listed.key, listed.etag, listed.metadata) == ("images/ab/old", "s", {"kind": "image"})
    store.delete("images/ab/old")
    assert list(folder.iterdir()) == []


def test_fs_an_attribute_wins_over_a_stale_sidecar(tmp_path):
    """A result written again where a sidecar was left: the file's own attribute is what it carries."""
    folder = tmp_path / "images" / "ab"
    folder.mkdir(parents=True)
    (folder / "x.meta").write_text('{"content_type": "text/plain", "sha256": "stale"}')
    store = reproducible(tmp_path)
    info = store.put("images/ab/x", io.BytesIO(b"new"), "image/png")
    (listed,) = store.blobs()
    assert (listed.content_type, listed.etag) == ("image/png", info.sha256)


@pytest.fixture
def no_attributes(tmp_path):
    """A real filesystem that takes no user attributes (ramfs); mounting one needs root."""
    mount = tmp_path / "ramfs"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "ramfs", "ramfs", str(mount)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a ramfs here (needs root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_fs_where_attributes_are_refused_a_result_s_metadata_goes_to_a_sidecar(no_attributes):
    store = reproducible(no_attributes)
    info = store.put("images/ab/one", io.BytesIO(b"png"), "image/png", {"kind": "image"})
    assert sorted(p.name for p in (no_attributes / "images" / "ab").iterdir()) == ["one", "one.meta"]
    (listed,) = store.blobs()
    assert (listed.etag, listed.metadata) == (info.sha256, {"kind": "image"})
    assert list((no_attributes / ".tmp").iterdir()) == []
    store.delete("images/ab/one")
    assert list((no_attributes / "images" / "ab").iterdir()) == []


@pytest.mark.parametrize("size", [5_000, 70_000])  # past ext4's room for attributes; past any filesystem's
def test_fs_metadata_too_large_for_an_attribute_goes_to_a_sidecar(tmp_path, size):
    store = reproducible(tmp_path)
    store.put("images/ab/long", io.BytesIO(b"1"), "image/png", {"note": "n" * size})
    (listed,) = store.blobs()
    assert listed.key == "images/ab/long" and listed.metadata["note"] == "n" * size
    assert list((tmp_path / ".tmp").iterdir()) == []


def test_fs_a_fifo_where_a_sidecar_would_be_never_holds_a_listing(tmp_path):
    """Reindexing (and the "Redis is empty" check at startup) read every sidecar: one that is a FIFO would wait
    for a writer forever."""
    store = FilesystemBlobStore(tmp_path)
    store.put("files/ab/one", io.BytesIO(b"1"), "text/plain", {"kind": "file"})
    os.unlink(tmp_path / "files" / "ab" / "one.meta")
    os.mkfifo(tmp_path / "files" / "ab" / "one.meta")
    (listed,) = store.blobs()
    assert (listed.key, listed.metadata) == ("files/ab/one", {})


def test_fs_a_sidecar_whose_blob_cannot_follow_it_is_taken_back(tmp_path, monkeypatch):
    """The blob's own rename fails (an I/O error, a filesystem gone read-only): no metadata is left without it."""
    store = FilesystemBlobStore(tmp_path)
    replace = os.replace

    def failing_for_the_blob(source, target):
        if not str(target).endswith(".meta"):
            raise OSError(errno.EIO, "Input/output error")
        replace(source, target)

    monkeypatch.setattr(os, "replace", failing_for_the_blob)
    with pytest.raises(StorageUnavailable):
        store.put("files/ab/one", io.BytesIO(b"1"), "text/plain", {"kind": "file"})
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == []


def test_fs_what_cannot_be_read_is_logged_not_skipped_silently(tmp_path):
    """A blob this process may not open (a copy made by another user) is named in the log, not left out unseen.
    The listing runs in a child; as root, one without root's power to read any file (setpriv)."""
    store = FilesystemBlobStore(tmp_path)
    store.put("files/ab/one", io.BytesIO(b"1"), "text/plain", {"kind": "file"})
    blob = tmp_path / "files" / "ab" / "one"
    blob.chmod(0)
    listing = "import logging, sys; logging.basicConfig(); from imagecache.blobs.filesystem import FilesystemBlobStore"
    listing += "; print(len(list(FilesystemBlobStore(sys.argv[1]).blobs())))"
    command = [sys.executable, "-c", listing, str(tmp_path)]
    if os.geteuid() == 0:
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
    child = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert (child.returncode, child.stdout) == (0, "0\n"), child.stderr
    assert f"cannot read {blob}: Permission denied" in child.stderr

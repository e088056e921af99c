"""Blobs as objects in an S3 bucket (MinIO, AWS, or any S3-compatible server).

Uploads of unknown length go up as multipart uploads in `PART_SIZE` parts, so
memory stays bounded; S3 makes each object appear whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import BinaryIO, cast
from urllib.parse import quote, unquote

import urllib3
from minio import Minio
from minio.error import S3Error

from imagecache.blobs.streams import HashingReader, check_key
from imagecache.domain.errors import BlobNotFound, StorageUnavailable
from imagecache.domain.ports import BlobInfo, BlobReader, Readable, StoredBlob

PART_SIZE = 8 * 1024 * 1024  # S3 allows 10,000 parts: 80 GB, far above MAX_UPLOAD_BYTES
_MISSING = {"NoSuchKey", "NoSuchObject", "NoSuchBucket"}


class S3BlobStore:
    def __init__(self, client: Minio, bucket: str) -> None:
        self._client = client
        self.bucket = bucket

    @classmethod
    def connect(cls, endpoint: str, access_key: str, secret_key: str, bucket: str, secure: bool) -> S3BlobStore:
        """A store with short timeouts and few retries, so an outage answers fast."""
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=2.0, read=30.0),
            maxsize=64,
            retries=urllib3.Retry(total=2, backoff_factor=0.1, status_forcelist=[500, 502, 503, 504]),
        )
        client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, http_client=http)
        return cls(client, bucket)

    def ensure_bucket(self) -> None:
        with _translated():
            if not self._client.bucket_exists(self.bucket):
                try:
                    self._client.make_bucket(self.bucket)
                except S3Error as exc:
                    if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise

    def put(self, key: str, stream: Readable, content_type: str, metadata: Mapping[str, str] | None = None) -> BlobInfo:
        reader = HashingReader(stream)
        headers: dict[str, str | list[str] | tuple[str]] = {  # S3 wants ASCII
            name: quote(value, safe="") for name, value in (metadata or {}).items()
        }
        with _translated():
            self._client.put_object(  # minio only ever calls read() on the data it is given
                self.bucket,
                check_key(key),
                cast(BinaryIO, reader),
                length=-1,
                content_type=content_type,
                part_size=PART_SIZE,
                metadata=headers,
            )
        return reader.info()

    def open(self, key: str, start: int = 0, length: int | None = None) -> BlobReader:
        with _translated(key):
            response = self._client.get_object(self.bucket, check_key(key), offset=start, length=length or 0)
        return _ObjectStream(response)

    def delete(self, key: str) -> None:
        with _translated():
            self._client.remove_object(self.bucket, check_key(key))

    def check(self) -> None:
        """Reachable, with the bucket there (created again if someone removed it)."""
        self.ensure_bucket()

    def blobs(self) -> Iterator[StoredBlob]:
        """Every object with its metadata (a stat each: listings do not carry user metadata)."""
        with _translated():
            for item in self._client.list_objects(self.bucket, recursive=True):
                stat = self._client.stat_object(self.bucket, item.object_name)
                meta = {
                    name.lower().removeprefix("x-amz-meta-"): unquote(value)
                    for name, value in (stat.metadata or {}).items()
                    if name.lower().startswith("x-amz-meta-")
                }
                yield StoredBlob(
                    key=item.object_name,
                    size=stat.size or 0,
                    etag=(stat.etag or "").strip('"'),
                    content_type=stat.content_type or "application/octet-stream",
                    modified=stat.last_modified.timestamp() if stat.last_modified else 0.0,
                    metadata=meta,
                )

    def sweep(self, older_than: float) -> int:
        """Nothing to do: S3 never shows an unfinished upload as an object."""
        return 0


class _ObjectStream:
    """A file-like view of an object download that returns its connection on close."""

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self._response = response

    def read(self, size: int | None = -1, /) -> bytes:
        return self._response.read(None if size is None or size < 0 else size)

    def close(self) -> None:
        self._response.close()
        self._response.release_conn()


@contextmanager
def _translated(key: str = "") -> Iterator[None]:
    """Turns client errors into the store's own errors."""
    try:
        yield
    except S3Error as exc:
        if exc.code in _MISSING and key:
            raise BlobNotFound(key) from exc
        raise StorageUnavailable(f"object storage error: {exc.code}") from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise StorageUnavailable("object storage is unreachable") from exc

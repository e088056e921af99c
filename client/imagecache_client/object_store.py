"""The S3 calls the client makes (AssetCache's and VersionedCache's), over the minio SDK: the one client module
that imports it, and only when an ObjectStore is made, so a client installed without the `s3` extra never does.

Every failure comes out as the client's own error: NotFound, Unavailable (cannot reach the store), AlreadyExists
(a create-only write met an object), or ClientError with S3's code.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from imagecache_client.errors import AlreadyExists, ClientError, NotFound, Refused, Unavailable

if TYPE_CHECKING:
    from hashlib import _Hash

    import urllib3
    from minio import Minio

CHUNK = 1024 * 1024
PART_SIZE = 8 * 1024 * 1024  # S3's 10,000 parts make 80 GB
PARALLEL_PARTS = 3  # parts on the way at once: a publish holds at most this many (+1 being read) in memory
SHA256_HEADER = "x-amz-meta-sha256"  # set by put_new, checked by every download that finds it
_MISSING = {"NoSuchKey", "NoSuchBucket", "NoSuchObject"}


def split_url(url: str) -> tuple[str, str]:
    """`s3://bucket/key` as (bucket, key)."""
    bucket, _, key = url.removeprefix("s3://").partition("/")
    if not url.startswith("s3://") or not bucket or not key:
        raise ClientError(f"not an S3 object path: {url}")
    return bucket, key


@dataclass(frozen=True)
class Download:
    """An object being read: what the store says of it, and its bytes as they arrive."""

    etag: str
    sha256: str | None  # the sha256 its publisher recorded, if any
    chunks: Iterator[bytes]


class ObjectStore:
    def __init__(self, endpoint: str, access_key: str, secret_key: str, secure: bool) -> None:
        try:
            import urllib3
            from minio import Minio
        except ImportError as exc:
            raise ClientError("S3 paths need the minio SDK: pip install 'imagecache-client[s3]'") from exc
        http = urllib3.PoolManager(  # a connection for each of prefill's threads
            timeout=urllib3.Timeout(connect=2.0, read=30.0), retries=urllib3.Retry(total=1), maxsize=16
        )
        self._s3: Minio = Minio(endpoint, access_key, secret_key, secure=secure, http_client=http)

    def etag(self, bucket: str, key: str) -> str:
        with _translated(bucket, key):
            return (self._s3.stat_object(bucket, key).etag or "").strip('"')

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self.etag(bucket, key)
        except NotFound:
            return False
        return True

    @contextmanager
    def download(self, bucket: str, key: str) -> Iterator[Download]:
        """The object's bytes, streamed (a failure of the store's, never of the caller's own writes, translated)."""
        with _translated(bucket, key):
            response = self._s3.get_object(bucket, key)
        try:
            headers = response.headers
            sha256 = headers.get(SHA256_HEADER)
            yield Download((headers.get("ETag") or "").strip('"'), sha256, _chunks(response, bucket, key))
        finally:
            response.close()
            response.release_conn()

    def folders(self, bucket: str, prefix: str) -> list[str]:
        """The names one level below `prefix` (which ends in "/") that hold objects."""
        with _translated(bucket, prefix):
            listed = self._s3.list_objects(bucket, prefix=prefix)
            return [item.object_name.removeprefix(prefix).rstrip("/") for item in listed if item.is_dir]

    def put_new(self, bucket: str, key: str, source: Path, sha256: str) -> None:
        """Upload `source`, whose bytes hash to `sha256`, as a new object that S3 itself refuses to write over
        (AlreadyExists).

        A multipart upload, read PART_SIZE at a time, whose completion carries `If-None-Match: *`: of two
        publishers of one key, exactly one wins, and the other's parts are aborted.
        """
        headers: dict[str, Any] = {"Content-Type": "application/octet-stream", SHA256_HEADER: sha256}
        with open(source, "rb") as file:
            with _translated(bucket, key):
                upload_id = self._s3._create_multipart_upload(bucket, key, headers)
            try:
                seen = hashlib.sha256()
                parts = self._upload_parts(bucket, key, upload_id, file, seen)
                if seen.hexdigest() != sha256:
                    raise ClientError(f"{source} changed while it was uploaded; nothing was published")
                with _translated(bucket, key):
                    self._complete_new(bucket, key, upload_id, parts)
            except BaseException:
                self._abort(bucket, key, upload_id)
                raise

    def _upload_parts(
        self, bucket: str, key: str, upload_id: str, file: BinaryIO, seen: _Hash
    ) -> list[tuple[int, str]]:
        """PARALLEL_PARTS parts on the way at once, as the SDK's own uploads go (so at most that many in memory),
        each hashed into `seen` in order as it is read."""
        sent: list[Future[tuple[int, str]]] = []
        with ThreadPoolExecutor(PARALLEL_PARTS, thread_name_prefix="s3-part") as pool:
            try:
                for number, data in _parts(file):
                    seen.update(data)
                    running = [future for future in sent if not future.done()]
                    if len(running) >= PARALLEL_PARTS:
                        wait(running, return_when=FIRST_COMPLETED)
                    sent.append(pool.submit(self._upload_part, bucket, key, upload_id, number, data))
                    if any(future.done() and future.exception() for future in sent):
                        break
                return [future.result() for future in sent]
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise

    def _upload_part(self, bucket: str, key: str, upload_id: str, number: int, data: bytes) -> tuple[int, str]:
        with _translated(bucket, key):
            return number, self._s3._upload_part(bucket, key, data, None, upload_id, number)

    def _complete_new(self, bucket: str, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        """CompleteMultipartUpload with `If-None-Match: *`, which the SDK's own call cannot send."""
        from minio.xml import Element, SubElement, getbytes

        element = Element("CompleteMultipartUpload")
        for number, etag in parts:
            part = SubElement(element, "Part")
            SubElement(part, "PartNumber", str(number))
            SubElement(part, "ETag", f'"{etag}"')
        body = getbytes(element)
        md5 = base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()
        headers: dict[str, Any] = {"Content-Type": "application/xml", "Content-MD5": md5, "If-None-Match": "*"}
        self._s3._execute("POST", bucket, key, body=body, headers=headers, query_params={"uploadId": upload_id})

    def _abort(self, bucket: str, key: str, upload_id: str) -> None:
        """Best effort: a store that cannot be reached now expires the parts by its own lifecycle rules."""
        try:
            self._s3._abort_multipart_upload(bucket, key, upload_id)
        except Exception:  # noqa: BLE001 - the upload's own failure is the one to report
            pass


def _parts(file: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """The file's parts, numbered from 1 (an empty file is one empty part)."""
    number, data = 1, file.read(PART_SIZE)
    yield number, data
    while len(data) == PART_SIZE and (data := file.read(PART_SIZE)):
        number += 1
        yield number, data


def _chunks(response: urllib3.BaseHTTPResponse, bucket: str, key: str) -> Iterator[bytes]:
    stream = response.stream(CHUNK)
    while True:
        with _translated(bucket, key):
            chunk = next(stream, None)
        if chunk is None:
            return
        yield chunk


@contextmanager
def _translated(bucket: str, key: str) -> Iterator[None]:
    """The SDK's failures as the client's own errors."""
    import urllib3
    from minio.error import S3Error

    try:
        yield
    except S3Error as exc:
        if exc.code in _MISSING:
            raise NotFound(f"no object s3://{bucket}/{key}") from exc
        if exc.code == "PreconditionFailed":
            raise AlreadyExists(f"s3://{bucket}/{key} exists and is never written over") from exc
        raise ClientError(f"s3://{bucket}/{key}: {exc.code}: {exc.message}") from exc
    except ValueError as exc:  # the SDK's checks of bucket and object names
        raise Refused(f"s3://{bucket}/{key}: {exc}") from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise Unavailable(f"the object store cannot be reached ({type(exc).__name__})") from exc

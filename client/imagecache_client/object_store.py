"""The S3 calls the client makes (AssetCache's and VersionedCache's), over the minio SDK: the one client module
that imports it, and only when an ObjectStore is made, so a client installed without the `s3` extra never does.

Every failure comes out as the client's own error: NotFound, Unavailable (the store cannot be reached or is not
serving), AlreadyExists (a create-only write met an object), Refused (a bad name), or ClientError with S3's code.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from xml.etree import ElementTree

from imagecache_client.errors import AlreadyExists, ClientError, NotFound, Refused, Unavailable

if TYPE_CHECKING:
    from hashlib import _Hash

    import urllib3
    from minio import Minio

CHUNK = 1024 * 1024
PART_SIZE = 8 * 1024 * 1024  # up to 80 GB; a larger file's parts are larger
PARALLEL_PARTS = 3  # parts on the way at once: a publish holds at most this many (+1 being read) in memory
SHA256_HEADER = "x-amz-meta-sha256"  # set by put_new, checked by every download that finds it
MAX_PARTS = 10_000
_NOT_SERVING = {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout"}
_SHA256 = re.compile(r"[0-9a-f]{64}")


def split_url(url: str) -> tuple[str, str]:
    """`s3://bucket/key` as (bucket, key)."""
    bucket, _, key = url.removeprefix("s3://").partition("/")
    if not url.startswith("s3://") or not bucket or not key:
        raise Refused(f"not an S3 object path: {url} (s3://bucket/key)")
    return bucket, key


@dataclass(frozen=True)
class ObjectStat:
    etag: str
    sha256: str | None  # the sha256 its publisher recorded, if any


@dataclass(frozen=True)
class Download(ObjectStat):
    """An object being read: what the store says of it, and its bytes as they arrive."""

    chunks: Iterator[bytes]


class ObjectStore:
    def __init__(self, endpoint: str, access_key: str, secret_key: str, secure: bool) -> None:
        try:
            import urllib3
            from minio import Minio
        except ImportError as exc:
            raise ClientError(
                "S3 paths need the minio SDK: the client's s3 extra (pip install './client[s3]')"
            ) from exc
        if not endpoint:
            raise Refused("no S3 endpoint: set MINIO_HOST (host:port)")
        http = urllib3.PoolManager(  # a connection for each of prefill's threads
            timeout=urllib3.Timeout(connect=2.0, read=30.0), retries=urllib3.Retry(total=1), maxsize=16
        )
        try:
            self._s3: Minio = Minio(endpoint, access_key, secret_key, secure=secure, http_client=http)
        except ValueError as exc:
            raise Refused(f"the S3 endpoint {endpoint!r} (MINIO_HOST): {exc}; give host:port") from exc

    def stat(self, bucket: str, key: str) -> ObjectStat:
        with _translated(bucket, key):
            found = self._s3.stat_object(bucket, key)
        return ObjectStat((found.etag or "").strip('"'), _recorded_sha256(found.metadata or {}))

    def close(self) -> None:
        self._s3._http.clear()

    @contextmanager
    def download(self, bucket: str, key: str) -> Iterator[Download]:
        """The object's bytes, streamed (a failure of the store's, never of the caller's own writes, translated)."""
        with _translated(bucket, key):
            response = self._s3.get_object(bucket, key)
        try:
            headers = response.headers
            yield Download(
                (headers.get("ETag") or "").strip('"'), _recorded_sha256(headers), _chunks(response, bucket, key)
            )
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
                parts = self._upload_parts(
                    bucket, key, upload_id, file, seen, _part_size(os.fstat(file.fileno()).st_size)
                )
                if seen.hexdigest() != sha256:
                    raise ClientError(f"{source} changed while it was uploaded; nothing was published")
                with _translated(bucket, key):
                    self._complete_new(bucket, key, upload_id, parts)
            except BaseException:
                self._abort(bucket, key, upload_id)
                raise

    def _upload_parts(
        self, bucket: str, key: str, upload_id: str, file: BinaryIO, seen: _Hash, part_size: int
    ) -> list[tuple[int, str]]:
        """PARALLEL_PARTS parts on the way at once, as the SDK's own uploads go (so at most that many in memory),
        each hashed into `seen` in order as it is read."""
        sent: list[Future[tuple[int, str]]] = []
        with ThreadPoolExecutor(PARALLEL_PARTS, thread_name_prefix="s3-part") as pool:
            try:
                for number, data in _parts(file, part_size):
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
        from minio.helpers import md5sum_hash
        from minio.xml import Element, SubElement, getbytes

        element = Element("CompleteMultipartUpload")
        for number, etag in parts:
            part = SubElement(element, "Part")
            SubElement(part, "PartNumber", str(number))
            SubElement(part, "ETag", f'"{etag}"')
        body = getbytes(element)
        headers: dict[str, Any] = {
            "Content-Type": "application/xml",
            "Content-MD5": md5sum_hash(body),
            "If-None-Match": "*",
        }
        answer = self._s3._execute(
            "POST", bucket, key, body=body, headers=headers, query_params={"uploadId": upload_id}
        )
        _raise_answered_error(answer.data, bucket, key)

    def _abort(self, bucket: str, key: str, upload_id: str) -> None:
        """Best effort: a store that cannot be reached now expires the parts by its own lifecycle rules."""
        try:
            self._s3._abort_multipart_upload(bucket, key, upload_id)
        except Exception:  # noqa: BLE001 - the upload's own failure is the one to report
            pass


def _part_size(size: int) -> int:
    """PART_SIZE, or larger (in whole MiB) for a file that would need more than S3's 10,000 parts."""
    return max(PART_SIZE, -(-size // (MAX_PARTS * 2**20)) * 2**20)


def _parts(file: BinaryIO, part_size: int) -> Iterator[tuple[int, bytes]]:
    """The file's parts, numbered from 1 (an empty file is one empty part)."""
    number, data = 1, file.read(part_size)
    yield number, data
    while len(data) == part_size and (data := file.read(part_size)):
        number += 1
        yield number, data


def _recorded_sha256(headers: Mapping[str, str]) -> str | None:
    """The sha256 a publisher recorded, if it is one (64 hex digits); another tool's header of that name is not."""
    value = next((v for name, v in headers.items() if name.lower() == SHA256_HEADER), "").lower()
    return value if _SHA256.fullmatch(value) else None


def _chunks(response: urllib3.BaseHTTPResponse, bucket: str, key: str) -> Iterator[bytes]:
    stream = response.stream(CHUNK)
    while True:
        with _translated(bucket, key):
            chunk = next(stream, None)
        if chunk is None:
            return
        yield chunk


def _raise_answered_error(body: bytes, bucket: str, key: str) -> None:
    """S3 may answer a CompleteMultipartUpload 200 OK with an error in the body."""
    if b"<Error>" in body:
        root = ElementTree.fromstring(body)
        raise _failure(root.findtext("Code") or "", 200, root.findtext("Message") or "", bucket, key)


def _failure(code: str, status: int, message: str, bucket: str, key: str) -> ClientError:
    """An S3 error code as the client's own error."""
    if code in {"NoSuchKey", "NoSuchObject"}:
        return NotFound(f"no object s3://{bucket}/{key}")
    if code == "NoSuchBucket":
        return NotFound(f"no bucket {bucket} (for s3://{bucket}/{key})")
    if code in {"PreconditionFailed", "ConditionalRequestConflict"}:
        return AlreadyExists(f"s3://{bucket}/{key} exists and is never written over")
    if status >= 500 or code in _NOT_SERVING:
        return Unavailable(f"the object store is not serving ({code or status})")
    return ClientError(f"s3://{bucket}/{key}: {code}: {message}")


@contextmanager
def _translated(bucket: str, key: str) -> Iterator[None]:
    """The SDK's failures as the client's own errors."""
    import urllib3
    from minio.error import InvalidResponseError, S3Error, ServerError

    try:
        yield
    except S3Error as exc:
        status = exc.response.status if exc.response is not None else 0
        raise _failure(exc.code or "", status, exc.message or "", bucket, key) from exc
    except (ServerError, InvalidResponseError) as exc:  # a 5xx, or an answer that is no S3 answer (a proxy's page)
        raise Unavailable(f"the object store is not serving ({type(exc).__name__})") from exc
    except ValueError as exc:  # the SDK's checks of bucket and object names
        raise Refused(f"s3://{bucket}/{key}: {exc}") from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise Unavailable(f"the object store cannot be reached ({type(exc).__name__})") from exc

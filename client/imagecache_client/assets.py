"""AssetCache: a local cache of any S3 object, as baiji-pod's asset cache is (the `s3` extra: the minio SDK).

`cache("s3://bucket/key")` downloads the object on a miss, streamed into the
local cache's content-addressed store, and returns the same path after. Once a
copy is older than `revalidate_after` (a day) the object's ETag is compared
with the one it was downloaded at, and it is downloaded again only if it
changed; objects of buckets listed as immutable are never revalidated. A plain
ETag is the object's MD5 and the bytes are checked against it; a multipart
ETag is no hash of the bytes and is not. With the store unreachable a cached
copy is used with a warning; without one, NoLocalCopy. The store is named by
the server's own variables: MINIO_HOST, MINIO_ACCESS_KEY, MINIO_SECRET_KEY,
MINIO_SECURE (and IMAGECACHE_IMMUTABLE_BUCKETS, comma-separated).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from imagecache_client.errors import ClientError, NoLocalCopy, NotFound, Unavailable
from imagecache_client.local import DEFAULT_MAX_BYTES, LocalCache
from imagecache_client.local.assets import LocalAsset

log = logging.getLogger("imagecache.client")

DAY = 24 * 3600.0
CHUNK = 1024 * 1024
_PLAIN_MD5 = re.compile(r"[0-9a-f]{32}")
_MISSING = {"NoSuchKey", "NoSuchBucket", "NoSuchObject"}


@dataclass(frozen=True)
class AssetConfig:
    endpoint: str = "localhost:9000"
    access_key: str = ""
    secret_key: str = ""
    secure: bool = False
    cache_dir: Path | str | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    revalidate_after: float = DAY
    immutable_buckets: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, **overrides: Any) -> AssetConfig:
        """The server's store variables; `overrides` (any field) win."""
        found = cls(
            endpoint=environ.get("MINIO_HOST", cls.endpoint),
            access_key=environ.get("MINIO_ACCESS_KEY", ""),
            secret_key=environ.get("MINIO_SECRET_KEY", ""),
            secure=environ.get("MINIO_SECURE", "").lower() in {"1", "true", "yes"},
            cache_dir=environ.get("IMAGECACHE_CACHE_DIR") or None,
            immutable_buckets=frozenset(
                b.strip() for b in environ.get("IMAGECACHE_IMMUTABLE_BUCKETS", "").split(",") if b.strip()
            ),
        )
        return replace(found, **overrides)


class AssetCache:
    def __init__(self, config: AssetConfig, local: LocalCache | None = None) -> None:
        import urllib3  # the s3 extra's: a client installed without it never loads either
        from minio import Minio

        self.config = config
        self.local = local or LocalCache(config.cache_dir, config.max_bytes)
        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=2.0, read=30.0), retries=urllib3.Retry(total=1))
        self._s3 = Minio(config.endpoint, config.access_key, config.secret_key, secure=config.secure, http_client=http)

    def __call__(self, path: str | Path) -> Path:
        return self.cache(path)

    def cache(self, path: str | Path) -> Path:
        """The local path of `s3://bucket/key` (read-only); a local path is returned as it is."""
        url = str(path)
        if not url.startswith("s3://"):
            return Path(path)
        bucket, _, key = url.removeprefix("s3://").partition("/")
        if not bucket or not key:
            raise ClientError(f"not an S3 object path: {url}")
        copy = self.local.assets.get(url)
        if copy is not None and self._fresh(bucket, copy):
            return copy.path
        try:
            if copy is not None and self._etag(bucket, key) == copy.etag:
                confirmed = self.local.assets.confirmed(url)
                if confirmed is not None:
                    return confirmed.path
            return self._download(url, bucket, key).path
        except Unavailable as exc:
            if copy is None:
                raise NoLocalCopy(f"{exc.message}; the local cache has no copy of {url}") from exc
            log.warning("%s; using the local copy of %s, %s", exc.message, url, copy.path)
            return copy.path

    def _fresh(self, bucket: str, copy: LocalAsset) -> bool:
        return bucket in self.config.immutable_buckets or time.time() - copy.validated_at < self.config.revalidate_after

    def _etag(self, bucket: str, key: str) -> str:
        with _translated(bucket, key):
            return (self._s3.stat_object(bucket, key).etag or "").strip('"')

    def _download(self, url: str, bucket: str, key: str) -> LocalAsset:
        """Streamed into a new local blob; refused when a plain ETag (the MD5) does not match the bytes."""
        md5 = hashlib.md5(usedforsecurity=False)
        with _translated(bucket, key), self.local.writer() as writer:
            response = self._s3.get_object(bucket, key)
            try:
                for chunk in response.stream(CHUNK):
                    writer.write(chunk)
                    md5.update(chunk)
                etag = (response.headers.get("ETag") or "").strip('"')
            finally:
                response.close()
                response.release_conn()
            if _PLAIN_MD5.fullmatch(etag) and md5.hexdigest() != etag:
                raise ClientError(f"download of {url} was corrupted: md5 {md5.hexdigest()}, the store says {etag}")
            return self.local.assets.keep(url, etag, writer)


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
        raise ClientError(f"s3://{bucket}/{key}: {exc.code}: {exc.message}") from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise Unavailable(f"the object store cannot be reached ({type(exc).__name__})") from exc

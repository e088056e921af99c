"""AssetCache: a local cache of any S3 object, as baiji-pod's asset cache is (the `s3` extra: the minio SDK).

`cache("s3://bucket/key")` downloads the object on a miss, streamed into the
local cache's content-addressed store, and returns the same path after. Once a
copy is older than `revalidate_after` (a day) the object's ETag is compared
with the one it was downloaded at, and it is downloaded again only if it
changed; objects of buckets listed as immutable, and those the caller says are
(published versions), are never revalidated. The bytes are checked against
the sha256 their publisher recorded (VersionedCache's publishes do) and, where
the ETag is a plain MD5, against it; a multipart ETag is no hash of the bytes
and is not. A mismatch keeps nothing. With the store unreachable a cached
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
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Self

from imagecache_client.errors import ClientError, NoLocalCopy, Unavailable
from imagecache_client.local import DEFAULT_MAX_BYTES, Fetched, LocalCache
from imagecache_client.local.assets import LocalAsset
from imagecache_client.local.blob_files import file_size
from imagecache_client.object_store import ObjectStore, split_url

log = logging.getLogger("imagecache.client")

DAY = 24 * 3600.0
_PLAIN_MD5 = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class AssetConfig:
    endpoint: str = "localhost:9000"
    access_key: str = ""
    secret_key: str = field(default="", repr=False)
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
        self.config = config
        self.local = local or LocalCache(config.cache_dir, config.max_bytes)
        self.store = ObjectStore(config.endpoint, config.access_key, config.secret_key, config.secure)

    def __call__(self, path: str | Path) -> Path:
        return self.cache(path)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """The store's connections and this thread's connection to the local index."""
        self.store.close()
        self.local.close()

    def cache(self, path: str | Path, *, immutable: bool = False) -> Path:
        """The local path of `s3://bucket/key` (read-only); a local path is returned as it is.

        `immutable`: this object is never written over (a published version), so a copy is never revalidated.
        """
        return self.fetched(path, immutable=immutable).path

    def fetched(self, path: str | Path, *, immutable: bool = False) -> Fetched:
        """As `cache`, saying whether the local cache already had it."""
        url = str(path)
        if url[:3].lower() != "s3:":
            return Fetched(Path(path), file_size(Path(path)), from_cache=True)
        bucket, key = split_url(url)  # refuses a mistyped one (S3://, s3:/) rather than take it for a local path
        hit = self._usable(url, bucket, immutable)
        if hit is not None:
            return hit
        with self.local.lock(url):  # one downloads; the others take its copy
            return self._usable(url, bucket, immutable) or self._renewed(url, bucket, key)

    def _usable(self, url: str, bucket: str, immutable: bool) -> Fetched | None:
        """The local copy, if it needs no word from the store."""
        copy = self.local.assets.get(url)
        if copy is not None and (immutable or self._fresh(bucket, copy)):
            return Fetched(copy.path, copy.size, from_cache=True)
        return None

    def _renewed(self, url: str, bucket: str, key: str) -> Fetched:
        """The copy confirmed by its ETag, or downloaded (again); with the store away, the old copy if any."""
        copy = self.local.assets.get(url)
        try:
            if copy is not None and self.store.stat(bucket, key).etag == copy.etag:
                confirmed = self.local.assets.confirmed(url)
                if confirmed is not None:
                    return Fetched(confirmed.path, confirmed.size, from_cache=True)
            downloaded = self._download(url, bucket, key)
            return Fetched(downloaded.path, downloaded.size, from_cache=False)
        except Unavailable as exc:
            if copy is None:
                raise NoLocalCopy(f"{exc.message}; the local cache has no copy of {url}") from exc
            log.warning("%s; using the local copy of %s, %s", exc.message, url, copy.path)
            return Fetched(copy.path, copy.size, from_cache=True)

    def _fresh(self, bucket: str, copy: LocalAsset) -> bool:
        return bucket in self.config.immutable_buckets or time.time() - copy.validated_at < self.config.revalidate_after

    def _download(self, url: str, bucket: str, key: str) -> LocalAsset:
        """Streamed into a new local blob; refused when the bytes are not those the store names: the sha256 their
        publisher recorded or, without one, a plain ETag (the MD5, computed only then)."""
        with self.local.writer() as writer, self.store.download(bucket, key) as download:
            md5 = (
                hashlib.md5(usedforsecurity=False)
                if download.sha256 is None and _PLAIN_MD5.fullmatch(download.etag)
                else None
            )
            for chunk in download.chunks:
                writer.write(chunk)
                if md5 is not None:
                    md5.update(chunk)
            if download.sha256 is not None and download.sha256 != writer.sha256:
                raise _corrupted(url, "sha256", writer.sha256, download.sha256)
            if md5 is not None and md5.hexdigest() != download.etag:
                raise _corrupted(url, "md5", md5.hexdigest(), download.etag)
            kept = self.local.assets.keep(url, download.etag, writer)
        self.local.evict(protect=kept.sha256)  # beyond the bound, least recently used go; never this one
        return kept


def _corrupted(url: str, algorithm: str, got: str, named: str) -> ClientError:
    return ClientError(f"download of {url} was corrupted: {algorithm} {got}, the store names {named}")

"""`imagecache admin ...`: operator commands that act on the stores directly."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from imagecache.auth import StaticTokens
from imagecache.blobs.s3 import S3BlobStore
from imagecache.file_index import FileRecord
from imagecache.files import is_cache_id
from imagecache.runtime import Runtime
from imagecache.secrets_file import HashedSecrets

log = logging.getLogger(__name__)


def add_token(runtime: Runtime, user: str) -> str:
    return StaticTokens(runtime.config.auth_tokens_file).add(user)


def add_key(runtime: Runtime, name: str) -> str:
    if not runtime.config.api_keys_file:
        raise SystemExit("set API_KEYS_FILE to the file the keys go in")
    return HashedSecrets(runtime.config.api_keys_file).add(name)


def reindex(runtime: Runtime) -> str:
    return str(runtime.reindexer.run())


def expire_all(runtime: Runtime) -> str:
    """Delete every expired /v1 cache now (their blobs too), as the seed's admin CLI does."""
    files = runtime.files
    total = files.index.count()
    removed = runtime.maintenance.prune_files()
    runtime.maintenance.collect_garbage()
    return f"removed {removed} of {total} caches"


def import_kbase(runtime: Runtime) -> str:
    """Index the objects of an existing KBase CachingService bucket in place (no bytes copied)."""
    store = runtime.blobs
    if not isinstance(store, S3BlobStore):
        raise SystemExit("import-kbase needs STORAGE=minio pointing at the KBase bucket")
    seen = adopted = 0
    for record in _kbase_records(store):
        seen += 1
        adopted += runtime.files.index.adopt(record)
    return f"indexed {adopted} of {seen} KBase caches"


def _kbase_records(store: S3BlobStore) -> Iterator[FileRecord]:
    """KBase names each object by its cache id and keeps filename, token_id, expiration in its metadata."""
    for obj in store.blobs():
        if not is_cache_id(obj.key):
            continue
        meta = obj.metadata
        try:
            expires_at = float(meta["expiration"])
            filename, token_id = meta["filename"], meta["token_id"]
        except (KeyError, ValueError):
            log.warning("import-kbase: %s has no KBase metadata, skipped", obj.key)
            continue
        placeholder = filename == "placeholder" and obj.size == 0
        yield FileRecord(
            cache_id=obj.key,
            token_id=token_id,
            filename=filename,
            content_type=obj.content_type,
            size=obj.size,
            etag=obj.etag,
            blob_key="" if placeholder else obj.key,
            created_at=obj.modified,
            updated_at=obj.modified,
            expires_at=expires_at,
            placeholder=placeholder,
        )

"""`imagecache admin ...`: operator commands that act on the stores directly."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from imagecache.composition import Components
from imagecache.domain.file_record import FileRecord, is_cache_id
from imagecache.domain.ports import BlobStore
from imagecache.domain.tenants import check_name
from imagecache.services.content_hash import content_sha256

log = logging.getLogger(__name__)


def add_token(components: Components, user: str) -> str:
    return components.token_file.add(user)


def add_key(components: Components, name: str) -> str:
    keys = components.api_key_file
    if keys is None:
        raise SystemExit("set API_KEYS_FILE to the file the keys go in")
    try:
        return keys.add(check_name(name))  # a name TENANTS can name
    except ValueError as exc:
        raise SystemExit(str(exc)) from None


def reindex(components: Components) -> str:
    return str(components.reindexer.run())


def expire_all(components: Components) -> str:
    """Delete every expired /v1 cache now (their blobs too), as the seed's admin CLI does."""
    files = components.files
    total = files.count()
    removed = components.maintenance.prune_files()
    components.maintenance.collect_garbage()
    return f"removed {removed} of {total} caches"


def import_kbase(components: Components) -> str:
    """Index the objects of an existing KBase CachingService bucket in place (no bytes copied)."""
    store = components.blobs
    if components.config.storage != "minio":
        raise SystemExit("import-kbase needs STORAGE=minio pointing at the KBase bucket")
    seen = adopted = 0
    for record in _kbase_records(store):
        seen += 1
        adopted += components.files.adopt(record)
    return f"indexed {adopted} of {seen} KBase caches"


def _kbase_records(store: BlobStore) -> Iterator[FileRecord]:
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
            etag=obj.etag if placeholder else content_sha256(store, obj),  # S3's MD5 is no sha256 to check against
            blob_key="" if placeholder else obj.key,
            created_at=obj.modified,
            updated_at=obj.modified,
            expires_at=expires_at,
            placeholder=placeholder,
        )

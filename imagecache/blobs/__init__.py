"""One blob-store interface with a filesystem and an S3/MinIO implementation."""

from imagecache.blobs.store import (
    BlobInfo,
    BlobNotFound,
    BlobReader,
    BlobStore,
    Readable,
    SourceInterrupted,
    StorageError,
    StorageFull,
    StorageUnavailable,
    StoredBlob,
)

__all__ = [
    "BlobInfo",
    "BlobNotFound",
    "BlobReader",
    "BlobStore",
    "Readable",
    "SourceInterrupted",
    "StorageError",
    "StorageFull",
    "StorageUnavailable",
    "StoredBlob",
]

"""The sha256 every stored result and file is served under (its ETag), which clients check each download against.

The filesystem store records a blob's sha256 as it writes it, and so do our own S3 writes' index records; but a
blob indexed from storage alone (`admin reindex` after Redis lost its data, `admin import-kbase`) has only what
S3 says of it: an MD5, or a multipart tag that is no hash of the bytes at all. Such a blob is read once, streamed,
to know its sha256.
"""

from __future__ import annotations

import hashlib
import re

from imagecache.domain.ports import BlobStore, StoredBlob

_SHA256 = re.compile(r"[0-9a-f]{64}")
CHUNK = 1024 * 1024


def content_sha256(blobs: BlobStore, blob: StoredBlob) -> str:
    """The blob's sha256: the one its store recorded, else computed from its bytes."""
    if _SHA256.fullmatch(blob.etag):
        return blob.etag
    digest = hashlib.sha256()
    reader = blobs.open(blob.key)
    try:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
    finally:
        reader.close()
    return digest.hexdigest()

"""Python client of imagecache, with a local cache (httpx and small libraries only: no server code).

from imagecache_client import ImageCacheClient, FileCacheClient

images = ImageCacheClient("http://127.0.0.1:8000")
chart = images.fetch({"queries": [...], "imageType": "png"})   # a local Path

async with AsyncImageCacheClient("http://127.0.0.1:8000") as images:   # the same, for asyncio
    chart = await images.fetch({"queries": [...], "imageType": "png"})  # (and AsyncFileCacheClient)

files = FileCacheClient("http://127.0.0.1:8000", token)
contigs = files.cached({"method": "assemble", "k": 31}, produce=assemble_into)

assets = AssetCache(AssetConfig.from_env())                   # the s3 extra: any S3 object
genome = assets.cache("s3://references/hg38.fa")              # a local Path, revalidated daily

vc = VersionedCache(assets, "versioned_assets.json", "my-versioned-assets")
table = vc("/foo/bar.csv")                                   # the version the manifest pins, never revalidated
"""

from imagecache_client.assets import AssetCache, AssetConfig
from imagecache_client.async_files import AsyncFileCacheClient
from imagecache_client.async_images import AsyncImageCacheClient
from imagecache_client.errors import (
    AlreadyExists,
    BadManifest,
    ClientError,
    NoLocalCopy,
    NotFound,
    OverQuota,
    Refused,
    Timeout,
    Unavailable,
    UpstreamError,
)
from imagecache_client.files import FileCacheClient, Uploaded
from imagecache_client.images import Entry, Extras, ImageCacheClient
from imagecache_client.local import Fetched, LocalCache
from imagecache_client.manifest import Version
from imagecache_client.versioned import VersionedCache

__all__ = [
    "AlreadyExists",
    "BadManifest",
    "AssetCache",
    "AssetConfig",
    "AsyncFileCacheClient",
    "AsyncImageCacheClient",
    "ClientError",
    "Entry",
    "Extras",
    "Fetched",
    "FileCacheClient",
    "ImageCacheClient",
    "LocalCache",
    "NoLocalCopy",
    "NotFound",
    "OverQuota",
    "Refused",
    "Timeout",
    "Unavailable",
    "Uploaded",
    "UpstreamError",
    "Version",
    "VersionedCache",
]

"""Python client of imagecache, with a local cache (httpx and small libraries only: no server code).

from imagecache_client import ImageCacheClient, FileCacheClient

images = ImageCacheClient("http://127.0.0.1:8000")
chart = images.fetch({"queries": [...], "imageType": "png"})   # a local Path

files = FileCacheClient("http://127.0.0.1:8000", token)
contigs = files.cached({"method": "assemble", "k": 31}, produce=assemble_into)
"""

from imagecache_client.errors import (
    ClientError,
    NoLocalCopy,
    NotFound,
    Refused,
    Timeout,
    Unavailable,
    UpstreamError,
)
from imagecache_client.files import FileCacheClient, Uploaded
from imagecache_client.images import Entry, Extras, ImageCacheClient
from imagecache_client.local import Fetched, LocalCache

__all__ = [
    "ClientError",
    "Entry",
    "Extras",
    "Fetched",
    "FileCacheClient",
    "ImageCacheClient",
    "LocalCache",
    "NoLocalCopy",
    "NotFound",
    "Refused",
    "Timeout",
    "Unavailable",
    "Uploaded",
    "UpstreamError",
]

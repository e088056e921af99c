"""Fetchers produce a result for a query: from Kentik's API, or computed locally."""

from imagecache.fetchers.fetcher import MIME_TYPES, Fetched, Fetcher, FetchError

__all__ = ["MIME_TYPES", "FetchError", "Fetched", "Fetcher"]

"""What `imagecache up` says it is about to run, one line each, before it runs it: an operator reads which Redis,
which store and which kinds without opening a file."""

from __future__ import annotations

import urllib.parse

from imagecache.config import Config
from imagecache.jobs.catalog import JobCatalog


def startup_lines(config: Config, url: str, *, embedded: bool) -> list[str]:
    kinds = JobCatalog.load(config)
    return [
        f"web: {url}",
        f"Redis: {_redis(config, embedded)}",
        f"blob store: {_store(config)}",
        f"auth (/v1): {_auth(config)}",
        f"API keys: {'on, from ' + config.api_keys_file if config.api_keys_file else 'off'}",
        f"job kinds: {', '.join(sorted(kinds.kinds))} (default {kinds.default})",
        f"worker slots: {config.worker_concurrency}",
    ]


def shown_url(url: str) -> str:
    """The URL with its password left out."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}:***@" if parts.username else ":***@"
    netloc = user + parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _redis(config: Config, embedded: bool) -> str:
    if config.sentinel_addresses:
        return f"the primary of Sentinel group {config.redis_sentinel_master} ({config.redis_sentinels})"
    where = shown_url(config.redis_url)
    return f"{where} (embedded: nothing answered there)" if embedded else f"{where} (already running)"


def _store(config: Config) -> str:
    if config.storage == "minio":
        scheme = "https" if config.minio_secure else "http"
        return f"S3 bucket {config.minio_bucket_name} at {scheme}://{config.minio_host}"
    return f"filesystem at {config.cache_path}"


def _auth(config: Config) -> str:
    if config.auth_mode == "kbase":
        return f"KBase tokens, checked at {config.kbase_auth_url}"
    return f"static tokens from {config.auth_tokens_file}"

"""Runtime: builds every long-lived object of a process from the configuration.

The one place that knows which backend, which fetcher and which Redis
settings are in use; web, worker and maintenance processes all start here.
"""

from __future__ import annotations

import logging
from functools import cached_property

from redis import BlockingConnectionPool, Redis

from imagecache.auth import KBaseAuth, StaticTokens, TokenAuthority
from imagecache.blobs import BlobStore, StorageError
from imagecache.blobs.fs import FilesystemBlobStore
from imagecache.blobs.s3 import S3BlobStore
from imagecache.capacity import Capacity
from imagecache.config import Config
from imagecache.entries import EntryStore
from imagecache.fetchers import Fetcher
from imagecache.fetchers.kentik import KentikFetcher
from imagecache.fetchers.local import LocalRenderer
from imagecache.file_index import FileIndex
from imagecache.files import FileCache
from imagecache.garbage import BlobGarbage
from imagecache.item_sweep import MAINTENANCE_ERRORS, ItemSweep
from imagecache.maintenance import Maintenance
from imagecache.notifier import EntryNotifier
from imagecache.producer import Producer
from imagecache.recovery import Recovery
from imagecache.redis_keys import RedisKeys
from imagecache.reindex import Reindexer
from imagecache.service import ImageCache, Limits
from imagecache.worker_lease import WorkerLease
from workers.queue import FetchQueue

log = logging.getLogger(__name__)

BACKOFF_MAX = 10.0
REDIS_POOL_SIZE = 64


class Runtime:
    def __init__(self, config: Config) -> None:
        self.config = config

    @cached_property
    def redis(self) -> Redis:
        """Short timeouts: an unreachable Redis must turn into a fast 503, not a hang."""
        pool = BlockingConnectionPool.from_url(
            self.config.redis_url,
            max_connections=REDIS_POOL_SIZE,
            timeout=1,
            socket_connect_timeout=1,
            socket_timeout=2,
            decode_responses=True,
        )
        return Redis(connection_pool=pool)

    @cached_property
    def rq_redis(self) -> Redis:
        """RQ wants bytes and blocks in BLMOVE for seconds, so it gets its own pool."""
        pool = BlockingConnectionPool.from_url(
            self.config.redis_url,
            max_connections=REDIS_POOL_SIZE + self.config.worker_concurrency,
            timeout=1,
            socket_connect_timeout=1,
            socket_timeout=30,
        )
        return Redis(connection_pool=pool)

    @cached_property
    def garbage(self) -> BlobGarbage:
        return BlobGarbage(self.redis, self.config.redis_prefix)

    @cached_property
    def entries(self) -> EntryStore:
        return EntryStore(self.redis, self.config.redis_prefix, self.garbage)

    @cached_property
    def blobs(self) -> BlobStore:
        config = self.config
        if config.storage == "minio":
            store = S3BlobStore.connect(
                config.minio_host,
                config.minio_access_key,
                config.minio_secret_key.get_secret_value(),
                config.minio_bucket_name,
                config.minio_secure,
            )
            try:
                store.ensure_bucket()
            except StorageError as exc:  # serve anyway: /health reports it, writes answer 503
                log.warning("storage: %s", exc)
            return store
        return FilesystemBlobStore(config.cache_path)

    @cached_property
    def jobs(self) -> FetchQueue:
        config = self.config
        attempts = config.kentik_api_retries + 1
        job_timeout = int(attempts * config.kentik_api_timeout + config.kentik_api_retries * BACKOFF_MAX + 30)
        return FetchQueue(
            self.rq_redis, config.redis_prefix, upstream_limit=config.upstream_max_concurrency, job_timeout=job_timeout
        )

    @cached_property
    def notifier(self) -> EntryNotifier:
        listener = Redis.from_url(
            self.config.redis_url,
            decode_responses=True,
            socket_keepalive=True,
            socket_connect_timeout=1,
            health_check_interval=10,
        )
        return EntryNotifier(listener, self.entries.channel)

    @cached_property
    def cache(self) -> ImageCache:
        config = self.config
        limits = Limits(
            default_ttl=config.default_ttl,
            max_ttl=config.max_ttl,
            error_ttl=config.error_ttl,
            pickup_grace=config.pickup_grace,
        )
        return ImageCache(self.entries, self.blobs, self.jobs, self.notifier, self.capacity, limits)

    @cached_property
    def file_index(self) -> FileIndex:
        return FileIndex(self.redis, self.config.redis_prefix, self.garbage)

    @cached_property
    def item_sweep(self) -> ItemSweep:
        return ItemSweep(lambda: self.entries.increment(MAINTENANCE_ERRORS))

    @cached_property
    def capacity(self) -> Capacity:
        config = self.config
        return Capacity(
            self.redis, config.redis_prefix, self.entries, self.file_index, config.cache_max_bytes, self.item_sweep
        )

    @cached_property
    def files(self) -> FileCache:
        return FileCache(
            self.file_index,
            self.blobs,
            self.capacity,
            self.config.max_upload_bytes,
            hold_seconds=self.config.wait_timeout,
        )

    @cached_property
    def authority(self) -> TokenAuthority:
        config = self.config
        if config.auth_mode == "static":
            return StaticTokens(config.auth_tokens_file)
        return KBaseAuth(config.kbase_auth_url, self.redis, config.redis_prefix, config.auth_cache_max_seconds)

    @cached_property
    def fetcher(self) -> Fetcher:
        config = self.config
        if not config.kentik_enabled:
            log.info("no Kentik credentials (KT_AUTH_EMAIL, KT_AUTH_TOKEN): rendering charts locally")
            return LocalRenderer()
        return KentikFetcher(
            config.kentik_api_url,
            config.kt_auth_email,
            config.kt_auth_token.get_secret_value(),
            retries=config.kentik_api_retries,
            timeout=config.kentik_api_timeout,
            max_connections=config.worker_concurrency,
            backoff_max=BACKOFF_MAX,
        )

    @cached_property
    def producer(self) -> Producer:
        return Producer(
            self.entries,
            self.blobs,
            self.fetcher,
            self.capacity,
            self.lease.id,
            error_ttl=self.config.error_ttl,
            max_attempts=self.config.max_fetch_attempts,
            hold_seconds=self.config.wait_timeout,
        )

    @cached_property
    def reindexer(self) -> Reindexer:
        return Reindexer(self.entries, self.file_index, self.blobs, self.garbage)

    def index_lost(self) -> bool:
        """Redis holds nothing of ours while storage holds results: it lost its data."""
        if self.redis.exists(RedisKeys(self.config.redis_prefix).stats):
            return False
        return next(iter(self.blobs.blobs()), None) is not None

    @cached_property
    def maintenance(self) -> Maintenance:
        return Maintenance(
            self.entries, self.files, self.capacity, self.blobs, self.jobs, self.recovery, self.item_sweep
        )

    @cached_property
    def recovery(self) -> Recovery:
        return Recovery(
            self.entries,
            self.jobs,
            self.item_sweep,
            lease_ttl=self.config.lease_ttl,
            pickup_grace=self.config.pickup_grace,
        )

    @cached_property
    def lease(self) -> WorkerLease:
        """This process's lease (worker processes only)."""
        return WorkerLease(self.redis, self.entries.lease_prefix, self.config.lease_ttl)

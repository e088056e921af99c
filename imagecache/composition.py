"""Components: the composition root, building every long-lived object of a process from the configuration.

The one place that knows which adapters are in use (which blob store, which
fetcher, which token authority, which Redis settings) and hands them to the
services; web, worker, maintenance and admin processes all start here. The
heavier adapters are imported when first built, so a process loads only what it
uses: an admin command no Falcon or Pillow, a worker no Falcon, an fs store no minio.
"""

from __future__ import annotations

import logging
import socket
from functools import cached_property
from typing import TYPE_CHECKING

from redis import Redis

from imagecache.auth.hashed_secrets import HashedSecrets
from imagecache.auth.kbase import KBaseAuth
from imagecache.auth.static_tokens import StaticTokens
from imagecache.config import Config
from imagecache.domain.counter_fields import MAINTENANCE_ERRORS
from imagecache.domain.entry_record import RESULT_FOLDERS, RESULTS
from imagecache.domain.errors import StorageError
from imagecache.domain.outages import recognise
from imagecache.domain.ports import BlobStore, TokenAuthority
from imagecache.domain.tenants import Tenants
from imagecache.index.counters import RedisCounters
from imagecache.index.entry_index import RedisEntryIndex
from imagecache.index.file_index import RedisFileIndex
from imagecache.index.garbage import RedisBlobGarbage
from imagecache.index.job_directory import RedisJobDirectory
from imagecache.index.leases import WorkerLease
from imagecache.index.notifier import RedisEntryNotifier
from imagecache.index.recency import RedisRecency
from imagecache.index.recent_figures import RedisRecentFigures
from imagecache.index.replica_wait import RedisReplicaWait
from imagecache.index.tenant_accounts import RedisTenantAccounts
from imagecache.redis_access.connections import RedisConnector
from imagecache.redis_access.keys import RedisKeys
from imagecache.redis_access.outages import redis_outage
from imagecache.services.blob_lifecycle import BlobKeeping
from imagecache.services.callbacks import CallbackDispatch
from imagecache.services.capacity import Capacity, TenantBudgets
from imagecache.services.file_cache import FileCache
from imagecache.services.followups import Followups
from imagecache.services.image_cache import ImageCache, Limits
from imagecache.services.item_sweep import ItemSweep
from imagecache.services.job_kinds import JobKinds
from imagecache.services.maintenance import Maintenance
from imagecache.services.producer import Producer, ProductionRules
from imagecache.services.recovery import Recovery
from imagecache.services.reindex import Reindexer
from imagecache.services.statistics import CacheStatistics
from imagecache.services.tag_purge import TagPurge
from imagecache.services.tenant_report import TenantReport

if TYPE_CHECKING:
    from imagecache.jobs.catalog import JobCatalog
    from imagecache.queueing.callbacks import RqCallbackQueue
    from imagecache.queueing.job_batches import RqJobBatches
    from imagecache.queueing.rq_queue import RqJobQueue
    from imagecache.web.app import WebServices

log = logging.getLogger(__name__)

REDIS_POOL_SIZE = 64


class Components:
    def __init__(self, config: Config) -> None:
        recognise(redis_outage)  # every process reaches Redis: its outages are 503s and end a pass, not bugs
        self.config = config
        self.keys = RedisKeys(config.redis_prefix)
        self.connector = RedisConnector(
            config.redis_url,
            config.sentinel_addresses,
            config.redis_sentinel_master,
            config.redis_sentinel_password.get_secret_value(),
        )

    # Connections

    @cached_property
    def redis(self) -> Redis:
        """Short timeouts: an unreachable Redis must turn into a fast 503, not a hang."""
        return self.connector.pooled(REDIS_POOL_SIZE, socket_connect_timeout=1, socket_timeout=2, decode_responses=True)

    @cached_property
    def rq_redis(self) -> Redis:
        """RQ wants bytes and blocks in BLMOVE for seconds, so it gets its own pool."""
        size = REDIS_POOL_SIZE + self.config.worker_concurrency
        return self.connector.pooled(size, socket_connect_timeout=1, socket_timeout=30)

    @cached_property
    def replication(self) -> RedisReplicaWait:
        """What acknowledged writes wait for: REDIS_WAIT_REPLICAS replicas (none: no wait)."""
        config = self.config
        return RedisReplicaWait(
            self.redis,
            config.redis_prefix,
            config.wait_replicas,
            config.redis_wait_timeout_ms,
            primary_moved=lambda: self.connector.primary_moved(self.redis),
        )

    # Adapters

    @cached_property
    def garbage(self) -> RedisBlobGarbage:
        return RedisBlobGarbage(self.redis, self.config.redis_prefix)

    @cached_property
    def entries(self) -> RedisEntryIndex:
        return RedisEntryIndex(self.redis, self.config.redis_prefix, self.longest_attempt + self.config.wait_timeout)

    @cached_property
    def longest_attempt(self) -> int:
        """The most seconds one attempt at a job may take: the longest timeout of the kinds installed here."""
        return max(kind.timeout for kind in self.job_catalog.settings().values())

    @cached_property
    def file_index(self) -> RedisFileIndex:
        return RedisFileIndex(self.redis, self.config.redis_prefix)

    @cached_property
    def counters(self) -> RedisCounters:
        return RedisCounters(self.redis, self.config.redis_prefix)

    @cached_property
    def blobs(self) -> BlobStore:
        config = self.config
        if config.storage == "minio":
            from imagecache.blobs.s3 import S3BlobStore

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
        from imagecache.blobs.filesystem import FilesystemBlobStore

        # Results are reproducible (their metadata on their own file); /v1 files are not.
        return FilesystemBlobStore(config.cache_path, reproducible=(RESULTS,), folders=RESULT_FOLDERS)

    @cached_property
    def jobs(self) -> RqJobQueue:
        from imagecache.queueing.rq_queue import RqJobQueue

        return RqJobQueue(self.rq_redis, self.config.redis_prefix)

    @cached_property
    def callback_queue(self) -> RqCallbackQueue:
        from imagecache.queueing.callbacks import RqCallbackQueue

        return RqCallbackQueue(self.rq_redis, self.config.redis_prefix, self.config.callback_retries)

    @cached_property
    def callbacks(self) -> CallbackDispatch | None:
        """None while callbacks are off (CALLBACK_ALLOWED_HOSTS empty): a request naming one is refused."""
        targets = self.config.callback_targets
        if not targets.enabled:
            return None
        from imagecache.queueing.callbacks import RedisCallbackRegistry

        registry = RedisCallbackRegistry(self.redis, self.config.redis_prefix)
        return CallbackDispatch(self.entries, registry, self.callback_queue, targets)

    @cached_property
    def job_catalog(self) -> JobCatalog:
        """The job kinds installed here (the `imagecache.jobs` entry points)."""
        from imagecache.jobs.catalog import JobCatalog

        return JobCatalog.load(self.config)

    @cached_property
    def job_directory(self) -> RedisJobDirectory:
        return RedisJobDirectory(self.redis, self.config.redis_prefix)

    @cached_property
    def job_kinds(self) -> JobKinds:
        catalog = self.job_catalog
        return JobKinds(self.job_directory, catalog.default, catalog.settings(), catalog.validators())

    @cached_property
    def notifier(self) -> RedisEntryNotifier:
        """One subscription per process; TCP keepalive tells within about 11 s that its server's host is gone."""
        listener = self.connector.single(
            decode_responses=True,
            socket_keepalive=True,
            socket_keepalive_options={socket.TCP_KEEPIDLE: 5, socket.TCP_KEEPINTVL: 2, socket.TCP_KEEPCNT: 3},
            socket_connect_timeout=1,
            health_check_interval=10,
        )
        return RedisEntryNotifier(listener, self.keys.done, lambda: self.connector.primary_moved(listener))

    @cached_property
    def authority(self) -> TokenAuthority:
        config = self.config
        if config.auth_mode == "static":
            return self.token_file
        return KBaseAuth(config.kbase_auth_url, self.redis, self.keys.auth_prefix, config.auth_cache_max_seconds)

    @property
    def token_file(self) -> StaticTokens:
        """AUTH_TOKENS_FILE, where `imagecache admin add-token` adds tokens."""
        return StaticTokens(self.config.auth_tokens_file)

    @property
    def api_key_file(self) -> HashedSecrets | None:
        """API_KEYS_FILE, or None when API keys are off."""
        return HashedSecrets(self.config.api_keys_file) if self.config.api_keys_file else None

    @cached_property
    def lease(self) -> WorkerLease:
        """This process's lease (worker processes only)."""
        return WorkerLease(self.redis, self.keys.lease_prefix, self.config.lease_ttl)

    @cached_property
    def job_batches(self) -> RqJobBatches:
        """How this worker process takes and finishes RQ jobs; its lease names its executions."""
        from imagecache.queueing.job_batches import RqJobBatches

        kinds = self.job_kinds
        return RqJobBatches(
            self.rq_redis,
            self.jobs.queue,
            lambda kind: self.jobs.rate_limit(kind, kinds.settings_for(kind).concurrency),
            self.jobs.registry,
            self.lease.id,
        )

    # Services

    @cached_property
    def cache(self) -> ImageCache:
        config = self.config
        limits = Limits(
            max_ttl=config.max_ttl,
            error_ttl=config.error_ttl,
            pickup_grace=config.pickup_grace,
            query_max_bytes=config.query_max_bytes,
            tenants=self.tenants,
        )
        return ImageCache(
            self.entries,
            self.blobs,
            self.jobs,
            self.notifier,
            self.job_kinds,
            limits,
            self.followups,
        )

    @cached_property
    def followups(self) -> Followups:
        return Followups(self.callbacks, self.replication)

    @cached_property
    def blob_keeping(self) -> BlobKeeping:
        return BlobKeeping(self.blobs, self.garbage, self.capacity)

    @cached_property
    def statistics(self) -> CacheStatistics:
        recent = RedisRecentFigures(self.redis, self.config.redis_prefix)
        report = TenantReport(self.tenants, self.tenant_accounts)
        return CacheStatistics(self.entries, self.counters, self.jobs, self.config.cache_max_bytes, recent, report)

    @cached_property
    def item_sweep(self) -> ItemSweep:
        return ItemSweep(lambda: self.counters.increment(MAINTENANCE_ERRORS))

    @cached_property
    def tenants(self) -> Tenants:
        """TENANTS, read once for every part that asks (its text was checked when the configuration loaded)."""
        return self.config.tenant_quotas

    @cached_property
    def tenant_accounts(self) -> RedisTenantAccounts:
        return RedisTenantAccounts(self.redis, self.config.redis_prefix)

    @cached_property
    def capacity(self) -> Capacity:
        recency = RedisRecency(self.redis, self.config.redis_prefix)
        budgets = TenantBudgets(self.tenants, self.tenant_accounts)
        return Capacity(
            recency, self.entries, self.file_index, self.config.cache_max_bytes, self.item_sweep, budgets=budgets
        )

    @cached_property
    def files(self) -> FileCache:
        return FileCache(
            self.file_index,
            self.blobs,
            self.capacity,
            self.config.max_upload_bytes,
            garbage=self.garbage,
            hold_seconds=self.config.wait_timeout,
            replication=self.replication,
        )

    @cached_property
    def producer(self) -> Producer:
        rules = ProductionRules(
            attempt_seconds=self.longest_attempt,
            error_backoff=self.config.error_backoff,
            max_attempts=self.config.max_fetch_attempts,
            hold_seconds=self.config.wait_timeout,
        )
        return Producer(
            self.entries, self.blob_keeping, self.job_catalog.runners(), self.lease.id, rules, self.followups
        )

    @cached_property
    def reindexer(self) -> Reindexer:
        return Reindexer(self.entries, self.file_index, self.blobs, self.garbage)

    @cached_property
    def recovery(self) -> Recovery:
        return Recovery(
            self.entries,
            self.jobs,
            self.job_kinds,
            self.item_sweep,
            lease_ttl=self.config.lease_ttl,
            pickup_grace=self.config.pickup_grace,
        )

    @cached_property
    def maintenance(self) -> Maintenance:
        return Maintenance(
            self.entries,
            self.files,
            self.blob_keeping,
            self.jobs,
            self.recovery,
            self.item_sweep,
            callbacks=self.callbacks,
        )

    def web_services(self) -> WebServices:
        from imagecache.web.app import WebServices

        config = self.config
        return WebServices(
            config=config,
            images=self.cache,
            purge=TagPurge(self.entries, self.counters),
            files=self.files,
            statistics=self.statistics,
            authority=self.authority,
            api_keys=self.api_key_file,
            health_checks={"redis": self.redis.ping, "storage": self.blobs.check},
        )

    def index_lost(self) -> bool:
        """Redis holds nothing of ours while storage holds results: it lost its data."""
        if self.redis.exists(self.keys.stats):
            return False
        return next(iter(self.blobs.blobs()), None) is not None

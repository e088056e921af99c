"""All configuration, read once from the environment (or `.env`) and passed in.

Names and defaults follow the Kentik Image Cache and KBase CachingService so
their deployments can switch over by changing the image, not the settings.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from imagecache.domain.callback_targets import CallbackTargets
from imagecache.domain.networks import IpNetwork, parse_networks

DAY = 24 * 3600


class ConfigError(Exception):
    """A setting is invalid; the message is one line naming the variable."""


class Config(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    kt_auth_email: str = ""
    kt_auth_token: SecretStr = SecretStr("")
    kentik_api_url: str = "https://api.kentik.com/api/v5"
    kentik_api_retries: int = Field(3, ge=0, le=20)
    kentik_api_timeout: float = Field(60, gt=0)
    default_ttl: int = Field(300, gt=0)
    entry_wait_timeout: float | None = Field(None, gt=0)
    cache_path: str = "./var/cache"
    cache_maintenance_period: float = Field(60, gt=0)
    debug: bool = False

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "imagecache:"
    redis_sentinels: str = ""
    redis_sentinel_master: str = "mymaster"
    redis_sentinel_password: SecretStr = SecretStr("")
    redis_wait_replicas: int | None = Field(None, ge=0, le=16)
    redis_wait_timeout_ms: int = Field(500, gt=0, le=1500)  # within the index client's 2 s socket timeout
    storage: Literal["fs", "minio"] = "fs"
    minio_host: str = "localhost:9000"
    minio_access_key: str = ""
    minio_secret_key: SecretStr = SecretStr("")
    minio_bucket_name: str = "imagecache"
    minio_secure: bool = False

    worker_concurrency: int = Field(16, ge=1, le=1024)
    upstream_max_concurrency: int = Field(16, ge=1)
    error_ttl: int = Field(30, ge=0)
    max_ttl: int = Field(30 * DAY, gt=0)
    max_body_bytes: int = Field(1024 * 1024, gt=0)
    query_max_bytes: int = Field(64 * 1024, gt=0)
    body_stall_timeout: float = Field(60, gt=0)
    web_workers: int = Field(2, ge=1)
    waits_per_process: int = Field(2000, ge=1, le=100_000)
    waits_per_client: int = Field(200, ge=1)
    trusted_proxies: str = ""
    cors_allow_origins: str = ""
    max_fetch_attempts: int = Field(3, ge=1)
    lease_ttl: float = Field(2, ge=1)
    pickup_grace: float = Field(30, gt=0)

    auth_mode: Literal["kbase", "static"] = "kbase"
    kbase_auth_url: str = "https://kbase.us/services/auth"
    auth_tokens_file: str = "./var/tokens"
    auth_cache_max_seconds: int = Field(300, ge=0)
    max_upload_bytes: int = Field(10 * 1024**3, gt=0)
    api_keys_file: str = ""
    cache_max_bytes: int = Field(0, ge=0)
    log_format: Literal["text", "json"] = "text"
    jobs_exclude: str = ""
    callback_allowed_hosts: str = ""
    callback_allowed_networks: str = ""
    callback_secret: SecretStr = SecretStr("")
    callback_retry_seconds: str = "30,60,120,300,600,1200,1200"

    @model_validator(mode="after")
    def _default_ttl_within_max(self) -> Config:
        if self.default_ttl > self.max_ttl:
            raise ValueError("DEFAULT_TTL must not exceed MAX_TTL")
        return self

    @model_validator(mode="after")
    def _default_job_kept(self) -> Config:
        if self.default_job in self.excluded_jobs:
            raise ValueError(
                "JOBS_EXCLUDE must not name the default job kind (kentik with Kentik credentials, else chart)"
            )
        return self

    @model_validator(mode="after")
    def _callbacks_are_signed(self) -> Config:
        if self.callback_targets.enabled and not self.callback_secret.get_secret_value():
            raise ValueError("CALLBACK_SECRET must be set when CALLBACK_ALLOWED_HOSTS is")
        if not all(part.strip().isdigit() for part in self.callback_retry_seconds.split(",")):
            raise ValueError("CALLBACK_RETRY_SECONDS must be comma-separated whole seconds")
        return self

    @model_validator(mode="after")
    def _networks_are_cidrs(self) -> Config:
        self.callback_targets  # noqa: B018  (parsing is the check)
        self.trusted_proxy_networks  # noqa: B018
        return self

    @model_validator(mode="after")
    def _sentinels_are_addresses(self) -> Config:
        self.sentinel_addresses  # noqa: B018  (parsing is the check)
        return self

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """The Sentinels to ask for the Redis primary (REDIS_SENTINELS); empty: REDIS_URL names the server."""
        found = []
        for address in filter(None, (part.strip() for part in self.redis_sentinels.split(","))):
            host, _, port = address.rpartition(":")
            if not (host and port.isdigit()):
                raise ValueError(f"REDIS_SENTINELS must be comma-separated host:port, not {address!r}")
            found.append((host.strip("[]"), int(port)))
        return found

    @property
    def wait_replicas(self) -> int:
        """Replicas each acknowledged write waits for (REDIS_WAIT_REPLICAS): by default 1 with Sentinel, else 0."""
        if self.redis_wait_replicas is not None:
            return self.redis_wait_replicas
        return 1 if self.sentinel_addresses else 0

    @property
    def callback_targets(self) -> CallbackTargets:
        """Where callback_url may point: hosts and ports (CALLBACK_ALLOWED_HOSTS; empty: callbacks are off), at
        public addresses or inside CALLBACK_ALLOWED_NETWORKS."""
        return CallbackTargets.parse(self.callback_allowed_hosts, self.callback_allowed_networks)

    @property
    def trusted_proxy_networks(self) -> tuple[IpNetwork, ...]:
        """Peers whose X-Forwarded-For names the client (TRUSTED_PROXIES: the proxies in front)."""
        return parse_networks(self.trusted_proxies, "TRUSTED_PROXIES")

    @property
    def callback_retries(self) -> list[int]:
        """Seconds before each retry of a callback that failed (7 by default: 8 attempts over about an hour)."""
        return [int(part) for part in self.callback_retry_seconds.split(",")]

    @property
    def wait_timeout(self) -> float:
        """The seed's default: long enough for every retry to time out once."""
        if self.entry_wait_timeout is not None:
            return self.entry_wait_timeout
        return self.kentik_api_retries * self.kentik_api_timeout + 5

    @property
    def kentik_enabled(self) -> bool:
        return bool(self.kt_auth_email and self.kt_auth_token.get_secret_value())

    @property
    def default_job(self) -> str:
        """The job kind a request that names none gets: kentik with Kentik credentials, else chart."""
        return "kentik" if self.kentik_enabled else "chart"

    @property
    def excluded_jobs(self) -> set[str]:
        """Installed job kinds this host leaves out (JOBS_EXCLUDE, comma-separated)."""
        return {name.strip() for name in self.jobs_exclude.split(",") if name.strip()}

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip() for o in self.cors_allow_origins.split(",") if o.strip()]


def load_config(**overrides: Any) -> Config:
    """Build the configuration or raise ConfigError with one readable line."""
    try:
        return Config(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "_".join(str(part) for part in first["loc"]).upper() or "configuration"
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"invalid configuration: {name}: {message}") from None

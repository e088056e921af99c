"""All configuration, read once from the environment (or `.env`) and passed in.

Names and defaults follow the Kentik Image Cache and KBase CachingService so
their deployments can switch over by changing the image, not the settings.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from imagecache.domain.callback_targets import CallbackTargets
from imagecache.domain.error_backoff import ErrorBackoff
from imagecache.domain.networks import IpNetwork, parse_host_ports, parse_networks
from imagecache.domain.tenants import Tenants
from imagecache_client.sizes import parse_size

DAY = 24 * 3600
CONNECTION_HEADROOM = 1000
"""Connections a web process takes beyond its waiting requests (WAITS_PER_PROCESS, web/admission.py): requests
that answer at once, refusals of waits included, always find room, so /health answers however many waits are
held."""


def _size(value: object) -> object:
    return parse_size(value) if isinstance(value, str) else value


Size = Annotated[int, BeforeValidator(_size)]
"""A byte count: bytes, or a size such as 512M, 5G or 5GiB (the client reads sizes alike)."""


class ConfigError(Exception):
    """A setting is invalid; the message is one line naming the variable."""


class Config(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True, env_ignore_empty=True)

    kt_auth_email: str = Field(
        "",
        description=(
            "Kentik account email; with `KT_AUTH_TOKEN` the default job kind is `kentik`, else charts are "
            "rendered locally (`chart`)"
        ),
    )
    kt_auth_token: SecretStr = Field(SecretStr(""), description="Kentik API token, with `KT_AUTH_EMAIL`")
    kentik_api_url: str = Field(
        "https://api.kentik.com/api/v5", description="Kentik API base URL (`/query/topXchart` is appended)"
    )
    kentik_api_retries: int = Field(3, ge=0, le=20, description="retries on transient failures (retries + 1 attempts)")
    kentik_api_timeout: float = Field(60, gt=0, description="seconds per attempt")
    default_ttl: int = Field(300, gt=0, description="entry lifetime when a request names none")
    entry_wait_timeout: float | None = Field(
        None,
        examples=["185"],
        gt=0,
        description="how long GET /image waits on a pending entry",
        json_schema_extra={"shown": "retries × timeout + 5"},
    )
    cache_path: str = Field("./var/cache", description="filesystem blob root")
    cache_maintenance_period: float = Field(60, gt=0, description="seconds between maintenance passes")
    debug: bool = Field(False, description="debug logging and access log")

    redis_url: str = Field("redis://127.0.0.1:6379/0", description="the index and the queue")
    redis_prefix: str = Field("imagecache:", description="prefix of every key (and of the RQ queue name)")
    redis_sentinels: str = Field(
        "",
        examples=["10.0.0.1:26379,10.0.0.2:26379"],
        description=(
            "`host:port,host:port,...`: ask these Sentinels for the primary; `REDIS_URL`'s host and port are then"
            " unused, its database, user and password still apply; empty: no Sentinel"
        ),
    )
    redis_sentinel_master: str = Field("mymaster", description="the name the Sentinels monitor the primary under")
    redis_sentinel_password: SecretStr = Field(
        SecretStr(""), description="the Sentinels' own password (`requirepass` in sentinel.conf)"
    )
    redis_wait_replicas: int | None = Field(
        None,
        examples=["1"],
        ge=0,
        le=16,
        description="replicas each acknowledged write waits for (`WAIT`) before its answer",
        json_schema_extra={"shown": "1 with Sentinel, else 0"},
    )
    redis_wait_timeout_ms: int = Field(
        500,
        gt=0,
        le=1500,
        description=(
            "how long that wait may take; a short wait is logged and counted (`replica_wait_timeouts`), then "
            "writes go on unwaited for 5 s (`unreplicated_writes`)"
        ),
    )  # within the index client's 2 s socket timeout
    storage: Literal["fs", "minio"] = Field("fs", description="`fs` or `minio` (any S3-compatible server)")
    minio_host: str = Field("localhost:9000", description="S3 endpoint, `host:port` (with `STORAGE=minio`)")
    minio_access_key: str = Field("", description="S3 access key")
    minio_secret_key: SecretStr = Field(SecretStr(""), description="S3 secret key")
    minio_bucket_name: str = Field("imagecache", description="bucket for results and files; created if missing")
    minio_secure: bool = Field(False, description="HTTPS to the S3 endpoint")

    worker_concurrency: int = Field(
        16,
        ge=1,
        le=1024,
        description="jobs in flight per worker process (its job slots, each a thread; RQ sees each slot as a worker)",
    )
    upstream_max_concurrency: int = Field(
        16, ge=1, description="cap on `kentik` (and `chart`) runs in flight across all workers on all hosts"
    )
    error_ttl: int = Field(
        30,
        ge=0,
        le=365 * DAY,
        description="seconds a transient error is reused; doubled at each consecutive upstream failure of its query",
    )
    error_ttl_max: int = Field(
        3600,
        ge=0,
        le=365 * DAY,
        description="most seconds a transient error is reused, however often its query has failed, and never past "
        "the entry's own expiry (unset: at least ERROR_TTL)",
    )
    max_ttl: int = Field(30 * DAY, gt=0, description="largest `ttl` accepted, in seconds")
    max_body_bytes: Size = Field(1024 * 1024, gt=0, examples=["1M"], description="largest POST body")
    query_max_bytes: Size = Field(
        64 * 1024, gt=0, examples=["64K"], description="largest query (as canonical JSON) an entry keeps; past it a 413"
    )
    body_stall_timeout: float = Field(
        60, gt=0, description="seconds a request body may send nothing before the request ends with 408"
    )
    web_workers: int = Field(
        2,
        ge=1,
        description=f"gunicorn worker processes (each holds `WAITS_PER_PROCESS` + {CONNECTION_HEADROOM} connections)",
    )
    waits_per_process: int = Field(
        2000,
        ge=1,
        le=100_000,
        description=(
            "requests that wait (long polls, event streams, `GET /image` of a pending entry) one web process "
            "holds at once; past it a 503 with `Retry-After`"
        ),
    )
    waits_per_client: int = Field(
        200,
        ge=1,
        description=(
            "of those, what one client (its API key's name, else its address) holds in one web process; past it a"
            " 429 with `Retry-After`"
        ),
    )
    trusted_proxies: str = Field(
        "",
        examples=["10.0.0.0/8"],
        description=(
            "CIDRs of the proxies in front, whose `X-Forwarded-For` names the client; from anyone else it is ignored"
        ),
    )
    cors_allow_origins: str = Field(
        "", examples=["https://dash.example.com"], description="comma-separated origins, or `*`; empty: CORS off"
    )
    max_fetch_attempts: int = Field(
        3, ge=1, description="a fetch whose worker died this many times becomes a 502 error entry"
    )
    lease_ttl: float = Field(
        2,
        ge=1,
        description=(
            "seconds a worker process's lease lives unrenewed (renewed twice a second); a lease seen missing this"
            " long marks its running fetches lost"
        ),
    )
    pickup_grace: float = Field(
        30, gt=0, description="seconds a new entry's job may wait before maintenance checks it is still queued"
    )

    auth_mode: Literal["kbase", "static"] = Field(
        "kbase",
        description=(
            "`/v1` tokens: `kbase` (ask `KBASE_AUTH_URL`) or `static` (`AUTH_TOKENS_FILE`); `make run` uses `static`"
        ),
    )
    kbase_auth_url: str = Field("https://kbase.us/services/auth", description="KBase auth service")
    auth_tokens_file: str = Field("./var/tokens", description="`sha256(token) user` per line")
    auth_cache_max_seconds: int = Field(300, ge=0, description="longest a KBase token lookup is cached")
    max_upload_bytes: Size = Field(10 * 1024**3, gt=0, examples=["10G"], description="largest /v1 upload")
    api_keys_file: str = Field(
        "",
        examples=["./var/api_keys"],
        description=(
            "`sha256(key) name` per line; when set, Bearer keys guard the Kentik routes, /info, /metrics; empty: "
            "keys off"
        ),
    )
    cache_max_bytes: Size = Field(
        0,
        ge=0,
        examples=["5G"],
        description="evict least recently used results to stay under this many stored bytes; 0: no bound",
    )
    log_format: Literal["text", "json"] = Field("text", description="`text` or `json`")
    jobs_exclude: str = Field(
        "", examples=["kentik"], description="installed job kinds this host leaves out, comma-separated"
    )
    callback_allowed_hosts: str = Field(
        "",
        examples=["hooks.example.com,hooks.example.com:8443"],
        description=(
            "what a `callback_url` may name, comma-separated: `host` (ports 80 and 443) or `host:port`; any other"
            " entry stops startup; empty: callbacks off"
        ),
    )
    callback_allowed_networks: str = Field(
        "",
        examples=["10.20.0.0/16"],
        description=(
            "CIDRs callbacks may reach although not public (loopback, private, link-local, ...): for tests and "
            "private deployments"
        ),
    )
    callback_secret: SecretStr = Field(
        SecretStr(""),
        examples=["a-long-random-secret"],
        description="the HMAC key of `Imagecache-Signature`; required with `CALLBACK_ALLOWED_HOSTS`",
    )
    callback_retry_seconds: str = Field(
        "30,60,120,300,600,1200,1200", description="seconds before each retry of a failed callback"
    )
    tenants: str = Field(
        "",
        examples=["alice: fresh_per_minute=600, pending=100, stored_bytes=5G; bob; *: pending=20"],
        description="the tenants (API key names) /info and /metrics show, `;`-separated, each with optional quotas "
        "(`fresh_per_minute`, `pending`, `stored_bytes`); `*`: every other tenant's quotas; empty: none",
    )
    signed_url_secret: SecretStr = Field(
        SecretStr(""),
        examples=["new-secret,old-secret"],
        description="HMAC keys of signed /image URLs, comma-separated, newest first (it signs; any verifies, so keys "
        "rotate); empty: requests cannot ask for `signed_url_ttl`",
    )

    @field_validator("redis_url")
    @classmethod
    def _redis_url_is_a_url(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a URL: redis://host:port/db, rediss:// (TLS) or unix:///path/to/socket")
        return value

    @field_validator("kentik_api_url", "kbase_auth_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or len(value) < 10:
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("minio_host")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or "/" in value or not port.isdigit():
            raise ValueError("must be host:port, without a scheme (MINIO_SECURE=true for https)")
        return value

    @model_validator(mode="after")
    def _ttls_within_their_max(self) -> Config:
        if self.default_ttl > self.max_ttl:
            raise ValueError("DEFAULT_TTL must not exceed MAX_TTL")
        if self.error_ttl > self.error_ttl_max and "error_ttl_max" in self.model_fields_set:
            raise ValueError("ERROR_TTL must not exceed ERROR_TTL_MAX")
        return self

    @property
    def error_backoff(self) -> ErrorBackoff:
        """ERROR_TTL doubled up to ERROR_TTL_MAX; a long ERROR_TTL with ERROR_TTL_MAX unset stays as it is."""
        unset = "error_ttl_max" not in self.model_fields_set
        return ErrorBackoff(self.error_ttl, max(self.error_ttl_max, self.error_ttl) if unset else self.error_ttl_max)

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
    def _lists_parse(self) -> Config:  # parsing is the check (callback_targets' is in _callbacks_are_signed)
        self.trusted_proxy_networks, self.sentinel_addresses  # noqa: B018
        if self.tenant_quotas.named and not self.api_keys_file:
            raise ValueError(
                "TENANTS names tenants, but API keys are off (API_KEYS_FILE is empty): give `*` the quotas"
            )
        return self

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """The Sentinels to ask for the Redis primary (REDIS_SENTINELS); empty: REDIS_URL names the server."""
        return parse_host_ports(self.redis_sentinels, "REDIS_SENTINELS")

    @property
    def wait_replicas(self) -> int:
        """Replicas each acknowledged write waits for (REDIS_WAIT_REPLICAS): by default 1 with Sentinel, else 0."""
        if self.redis_wait_replicas is not None:
            return self.redis_wait_replicas
        return 1 if self.sentinel_addresses else 0

    @property
    def signed_url_keys(self) -> tuple[bytes, ...]:
        """SIGNED_URL_SECRET's keys, the newest (the one that signs) first."""
        keys = self.signed_url_secret.get_secret_value().split(",")
        return tuple(key.strip().encode() for key in keys if key.strip())

    @property
    def tenant_quotas(self) -> Tenants:
        """TENANTS: who is shown, and who may start and keep how much (domain/tenants.py)."""
        return Tenants.parse(self.tenants, "TENANTS")

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
    """Build the configuration or raise ConfigError with one readable line: the variable, what was wrong with the
    value given, and a value that would do."""
    try:
        return Config(**overrides)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc.errors()[0])) from None


def _one_line(error: Any) -> str:
    message = error["msg"].removeprefix("Value error, ")
    field = str(error["loc"][0]) if error["loc"] else ""
    if field not in Config.model_fields:  # a rule across settings: its message names them
        return f"invalid configuration: {message}"
    name = field.upper()
    given = error.get("input")
    private = any(word in field for word in ("secret", "token", "password", "key", "url"))  # may carry a secret
    said = f"{name}={given!r}" if isinstance(given, str) and not private else name
    return f"invalid configuration: {said}: {message}; for example {name}={example(field)}"


def example(field: str) -> str:
    """A value the setting takes: its `examples`, else its default."""
    info = Config.model_fields[field]
    if info.examples:
        return str(info.examples[0])
    value = info.default.get_secret_value() if isinstance(info.default, SecretStr) else info.default
    return str(value).lower() if isinstance(value, bool) else str(value)

import pytest

from imagecache.config import Config, ConfigError, load_config
from imagecache.domain.error_backoff import ErrorBackoff


def test_seed_defaults(monkeypatch):
    for name in ("KENTIK_API_RETRIES", "KENTIK_API_TIMEOUT", "ENTRY_WAIT_TIMEOUT", "DEFAULT_TTL"):
        monkeypatch.delenv(name, raising=False)
    config = load_config(_env_file=None)
    assert config.kentik_api_url == "https://api.kentik.com/api/v5"
    assert (config.kentik_api_retries, config.kentik_api_timeout, config.default_ttl) == (3, 60, 300)
    assert config.wait_timeout == 3 * 60 + 5
    assert config.redis_prefix == "imagecache:"
    assert not config.kentik_enabled


def test_explicit_wait_timeout_wins(monkeypatch):
    monkeypatch.setenv("ENTRY_WAIT_TIMEOUT", "7")
    assert load_config(_env_file=None).wait_timeout == 7


# A value each setting refuses; the settings that take any text at all are listed apart, so a new setting must
# be put in one or the other.
BAD = {
    "kentik_api_url": "api.kentik.com",
    "kentik_api_retries": "lots",
    "kentik_api_timeout": "soon",
    "default_ttl": "0",
    "entry_wait_timeout": "-1",
    "cache_maintenance_period": "0",
    "debug": "maybe",
    "redis_url": "localhost:6379",
    "redis_sentinels": "sentinel-without-port",
    "redis_wait_replicas": "17",
    "redis_wait_timeout_ms": "2000",
    "storage": "tape",
    "minio_host": "https://s3.example.com",
    "minio_secure": "sometimes",
    "worker_concurrency": "-1",
    "upstream_max_concurrency": "0",
    "error_ttl": "-5",
    "error_ttl_max": "9007199254740992",  # 2**53 seconds: past what Redis can keep a key for
    "max_ttl": "0",
    "max_body_bytes": "1MB2",
    "query_max_bytes": "0",
    "body_stall_timeout": "0",
    "web_workers": "0",
    "waits_per_process": "none",
    "waits_per_client": "0",
    "trusted_proxies": "10.0.0.0/33",
    "max_fetch_attempts": "0",
    "lease_ttl": "0",
    "pickup_grace": "-1",
    "auth_mode": "ldap",
    "kbase_auth_url": "kbase.us/services/auth",
    "auth_cache_max_seconds": "-1",
    "max_upload_bytes": "10 gigs",
    "cache_max_bytes": "5X",
    "log_format": "xml",
    "callback_allowed_hosts": "https://hooks.example.com",
    "callback_allowed_networks": "not-a-network",
    "callback_retry_seconds": "30,soon",
    "tenants": "alice: speed=3",
}
ANY_TEXT = {
    "kt_auth_email", "kt_auth_token", "cache_path", "redis_prefix", "redis_sentinel_master",
    "redis_sentinel_password", "minio_access_key", "minio_secret_key", "minio_bucket_name", "auth_tokens_file",
    "api_keys_file", "cors_allow_origins", "jobs_exclude", "callback_secret", "signed_url_secret",
}  # fmt: skip


def test_every_setting_is_either_checked_or_takes_any_text():
    assert set(BAD) | ANY_TEXT == set(Config.model_fields) and not set(BAD) & ANY_TEXT


@pytest.mark.parametrize("field", sorted(BAD))
def test_a_bad_value_is_one_line_naming_the_variable_and_a_value_that_would_do(monkeypatch, field):
    name = field.upper()
    monkeypatch.setenv(name, BAD[field])
    with pytest.raises(ConfigError) as raised:
        load_config(_env_file=None)
    message = str(raised.value)
    assert "\n" not in message and message.startswith("invalid configuration: ") and name in message, message
    suggested = message.rpartition(f"for example {name}=")[2]
    if suggested != message:  # a rule across settings names them without one
        monkeypatch.setenv(name, suggested)
        monkeypatch.setenv("CALLBACK_SECRET", "s")
        assert load_config(_env_file=None) is not None, f"{name}={suggested} is offered as an example but refused"


def test_a_secret_refused_is_never_echoed(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "user:hunter2@db.example.com:6379")
    with pytest.raises(ConfigError) as raised:
        load_config(_env_file=None)
    assert "hunter2" not in str(raised.value) and "REDIS_URL" in str(raised.value)


@pytest.mark.parametrize(("text", "size"), [("5G", 5 * 1024**3), ("5GiB", 5 * 1024**3), ("512M", 512 * 1024**2)])
def test_sizes_read_as_the_client_reads_them(monkeypatch, text, size):
    monkeypatch.setenv("CACHE_MAX_BYTES", text)
    assert load_config(_env_file=None).cache_max_bytes == size


def test_dotenv_is_read(tmp_path, monkeypatch):
    monkeypatch.delenv("DEFAULT_TTL", raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text("DEFAULT_TTL=42\n")
    assert load_config(_env_file=env_file).default_ttl == 42


def test_secrets_are_hidden_in_repr(monkeypatch):
    monkeypatch.setenv("KT_AUTH_TOKEN", "very-secret")
    monkeypatch.setenv("KT_AUTH_EMAIL", "me@example.com")
    config = load_config(_env_file=None)
    assert "very-secret" not in repr(config)
    assert config.kentik_enabled


def test_the_default_job_kind_cannot_be_excluded():
    with pytest.raises(ConfigError, match="JOBS_EXCLUDE"):
        load_config(_env_file=None, jobs_exclude="chart")
    assert load_config(_env_file=None, jobs_exclude="kentik").excluded_jobs == {"kentik"}


def test_error_ttl_may_not_exceed_an_error_ttl_max_that_is_set():
    with pytest.raises(ConfigError, match="ERROR_TTL must not exceed ERROR_TTL_MAX"):
        load_config(_env_file=None, error_ttl=60, error_ttl_max=10)


def test_a_long_error_ttl_lifts_an_unset_error_ttl_max_to_it():
    assert load_config(_env_file=None, error_ttl=7200).error_backoff == ErrorBackoff(7200, 7200)
    assert load_config(_env_file=None, error_ttl=5, error_ttl_max=40).error_backoff == ErrorBackoff(5, 40)


def test_every_setting_is_described():
    assert [name for name, field in Config.model_fields.items() if not field.description] == []


def test_tenants_named_without_api_keys_are_refused_as_no_request_could_be_theirs():
    with pytest.raises(ConfigError, match="TENANTS names tenants, but API keys are off"):
        load_config(_env_file=None, tenants="alice: pending=5")
    assert load_config(_env_file=None, tenants="*: pending=5").tenant_quotas.quota("").pending == 5
    assert load_config(_env_file=None, tenants="alice", api_keys_file="keys").tenant_quotas.named

from pathlib import Path

import pytest

from imagecache.config import Config, ConfigError, load_config
from imagecache.ops.config_reference import section


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


@pytest.mark.parametrize(
    ("name", "value"),
    [("KENTIK_API_RETRIES", "many"), ("STORAGE", "tape"), ("DEFAULT_TTL", "0"), ("WORKER_CONCURRENCY", "-1")],
)
def test_bad_value_names_the_variable_in_one_line(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as raised:
        load_config(_env_file=None)
    message = str(raised.value)
    assert name in message and "\n" not in message


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


def test_the_readmes_configuration_reference_is_the_one_config_makes():
    """Each setting's default and description live on its field; the README holds what they render to."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert section() in readme, "run `python -m imagecache.ops.config_reference` and paste its table into README.md"


def test_every_setting_is_described():
    assert [name for name, field in Config.model_fields.items() if not field.description] == []

import pytest

from imagecache.auth.hashed_secrets import secret_hash
from imagecache.auth.kbase import KBaseAuth
from imagecache.auth.static_tokens import StaticTokens
from imagecache.domain.errors import AuthUnavailable, InvalidToken
from imagecache.redis_access.keys import RedisKeys
from testkit.processes import free_port


def test_static_tokens_are_stored_hashed_and_identify_their_user(tmp_path):
    tokens = StaticTokens(tmp_path / "tokens")
    token = tokens.add("alice")
    text = (tmp_path / "tokens").read_text()
    assert token not in text and secret_hash(token) in text
    assert (tmp_path / "tokens").stat().st_mode & 0o777 == 0o600
    identity = tokens.identify(token)
    assert (identity.user, identity.token_id) == ("alice", "static:alice")
    with pytest.raises(InvalidToken):
        tokens.identify("not-a-token")


def test_static_tokens_follow_file_changes_and_skip_junk(tmp_path):
    path = tmp_path / "tokens"
    path.write_text("# comment\nnot-a-pair\n")
    tokens = StaticTokens(path)
    with pytest.raises(InvalidToken):
        tokens.identify("x")
    token = tokens.add("bob")
    assert tokens.identify(token).user == "bob"


def test_user_names_are_one_word(tmp_path):
    with pytest.raises(ValueError):
        StaticTokens(tmp_path / "t").add("two words")


def test_kbase_lookup_is_cached_under_a_hash(redis, prefix, kbase_auth):
    auth = KBaseAuth(kbase_auth.url, redis, RedisKeys(prefix).auth_prefix, max_cache_seconds=60)
    before = kbase_auth.tokens.calls
    identity = auth.identify("token-alice")
    assert identity.token_id == f"{kbase_auth.url}:alice"
    assert auth.identify("token-alice") == identity
    assert kbase_auth.tokens.calls == before + 1
    keys = list(redis.scan_iter(match=prefix + "*"))
    assert keys == [prefix + "auth:" + secret_hash("token-alice")]
    assert 0 < redis.ttl(keys[0]) <= 60


def test_kbase_rejects_unknown_tokens(redis, prefix, kbase_auth):
    with pytest.raises(InvalidToken):
        KBaseAuth(kbase_auth.url, redis, RedisKeys(prefix).auth_prefix, 60).identify("token-mallory")


def test_kbase_down_is_unavailable_not_invalid(redis, prefix):
    with pytest.raises(AuthUnavailable):
        KBaseAuth(f"http://127.0.0.1:{free_port()}", redis, RedisKeys(prefix).auth_prefix, 60).identify("token-alice")

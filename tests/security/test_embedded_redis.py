"""The embedded Redis (`imagecache up` on a machine without one) takes REDIS_URL's password and listens on loopback
only; the password shows in no process listing."""

from __future__ import annotations

import urllib.parse

import pytest
from redis import AuthenticationError, Redis
from redis.exceptions import ResponseError

from imagecache.ops.embedded_redis import EmbeddedRedis
from testkit.processes import free_port

PASSWORD = 'an "odd" pass\\word'


@pytest.fixture
def embedded(tmp_path):
    port = free_port()
    url = f"redis://:{urllib.parse.quote(PASSWORD, safe='')}@localhost:{port}/0"
    server = EmbeddedRedis(url, tmp_path, persistent=False).start()
    yield url, port, server
    server.stop()


def test_it_requires_the_urls_password_and_binds_to_loopback_only(embedded):
    url, port, server = embedded
    assert Redis.from_url(url).ping()
    with pytest.raises((AuthenticationError, ResponseError), match="(?i)auth"):
        Redis(port=port).ping()
    assert Redis.from_url(url).config_get("bind")["bind"] == "127.0.0.1"
    cmdline = open(f"/proc/{server.pid}/cmdline", "rb").read()
    assert PASSWORD.encode() not in cmdline and b"requirepass" not in cmdline


def test_a_user_name_it_cannot_honour_is_refused(tmp_path):
    with pytest.raises(ValueError, match="password only"):
        EmbeddedRedis("redis://alice:pw@127.0.0.1:6390/0", tmp_path)

"""Scripts composed from their shared files: another adapter's too, each file once, before whatever uses it."""

from __future__ import annotations

import re

import pytest

from imagecache.redis_access import scripts
from imagecache.redis_access.scripts import source


def test_a_script_gets_the_files_it_uses_and_theirs_once_each_before_their_users():
    text = source("entry_request")
    defined = re.findall(r"^local function (\w+)", text, re.M)
    assert defined.count("promote") == defined.count("enqueue_job") == defined.count("id_head") == 1
    assert defined.index("promote") < defined.index("enqueue_job")  # enqueue.lua uses promote.lua
    assert text.index("local function enqueue_job") < text.index("enqueue_job(job_keys, job_args)")


def test_the_queue_s_own_script_shares_the_index_s_enqueue():
    assert "local function enqueue_job" in source("jobs_enqueue", "imagecache.queueing")
    assert source("jobs_enqueue", "imagecache.queueing").count("local function promote") == 1


def test_files_that_use_each_other_are_named_not_followed_forever(tmp_path, monkeypatch):
    files = {"a": "-- Uses b.lua\n", "b": "-- Uses c.lua\n", "c": "-- Uses a.lua\n"}
    monkeypatch.setattr(scripts, "_read", lambda name, package: files[name])
    with pytest.raises(ValueError, match=r"p:a.lua -> p:b.lua -> p:c.lua -> p:a.lua"):
        scripts.source.__wrapped__("a", "p")

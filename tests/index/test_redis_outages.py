"""Which failures are outages: Redis's own replies, parsed by redis-py as a live connection would parse them."""

from __future__ import annotations

import subprocess
import sys

import pytest
from redis._parsers import _RESP2Parser
from redis.exceptions import ConnectionError, TimeoutError

from imagecache.domain.errors import StorageFull, StorageUnavailable
from imagecache.domain.outages import is_outage, recognise
from imagecache.redis_access.outages import redis_outage

recognise(redis_outage)  # as the composition root does in every process

NOT_SERVING = [
    "LOADING Redis is loading the dataset in memory",
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
    "READONLY You can't write against a read only replica.",
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
    "OOM command not allowed when used memory > 'maxmemory'.",
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.",
    "NOREPLICAS Not enough good replicas to write.",
    "Error running script (call to f_746a): @user_script:26: @user_script: 26: -READONLY You can't write against "
    "a read only replica.",  # Redis 6 inside a script
    "READONLY You can't write against a read only replica. script: 746a, on @user_script:26.",  # Redis 7
]
BUGS = [
    "WRONGTYPE Operation against a key holding the wrong kind of value",
    "ERR value is not an integer or out of range",
    "NOSCRIPT No matching script. Please use EVAL.",
    "ERR Error running script: entry has no valid size",
    "Error running script (call to f_9a1b): @user_script:3: entry has no valid size: READONLY-looking id",
]


def reply(text: str) -> Exception:
    return _RESP2Parser.__new__(_RESP2Parser).parse_error(text)


@pytest.mark.parametrize("text", NOT_SERVING)
def test_a_redis_that_is_not_serving_is_an_outage(text):
    assert is_outage(reply(text))


@pytest.mark.parametrize("text", BUGS)
def test_other_redis_errors_are_bugs(text):
    assert not is_outage(reply(text))


def test_unreachable_dependencies_are_outages_and_a_full_disk_is_not():
    assert is_outage(ConnectionError("Connection refused")) and is_outage(TimeoutError("timed out"))
    assert is_outage(StorageUnavailable("storage error: connection refused"))
    assert not is_outage(StorageFull("storage is full")) and not is_outage(ValueError("bug"))


def test_redis_outages_are_known_once_the_composition_root_builds_a_process_not_by_an_import():
    check = (
        "from redis.exceptions import ConnectionError\n"
        "from imagecache.domain.outages import is_outage\n"
        "import imagecache.index, imagecache.redis_access.outages, workers.worker, workers.maintenance_loop\n"
        "print(is_outage(ConnectionError('refused')))\n"
        "from imagecache.composition import Components\n"
        "from imagecache.config import load_config\n"
        "Components(load_config(_env_file=None))\n"
        "print(is_outage(ConnectionError('refused')))"
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "True"], done.stderr

"""Job kinds as a web host sees them while a live worker advertises them, for tests below the stack."""

from __future__ import annotations

import dataclasses
import time

from redis import Redis

from imagecache.domain.job_settings import JobSettings
from imagecache.index.job_directory import RedisJobDirectory
from imagecache.services.job_kinds import JobKinds

CHART = JobSettings("chart", timeout=60, retries=0, concurrency=4, default_ttl=300)
ONE_SLOT = dataclasses.replace(CHART, concurrency=1)


def served_kinds(redis: Redis, prefix: str, *kinds: JobSettings) -> JobKinds:
    """`chart` (the default) and `kinds`, advertised by a worker that lives for the test's length."""
    served = {kind.name: kind for kind in (CHART, *kinds)}
    directory = RedisJobDirectory(redis, prefix)
    directory.advertise("test-worker", served, time.time(), 3600)
    return JobKinds(directory, "chart", served, {})

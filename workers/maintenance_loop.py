"""The maintenance process: a pass at startup, then one every CACHE_MAINTENANCE_PERIOD.

A Redis lock lets one host run each pass; passes are safe to overlap, the
lock only saves work.
"""

from __future__ import annotations

import logging
import threading
import time

from redis.exceptions import LockError, RedisError
from redis.lock import Lock

from imagecache.composition import Components
from imagecache.domain.errors import StorageError
from imagecache.domain.outages import is_outage
from imagecache.ops.heartbeat import beat
from workers.process import start_process
from workers.stop_signals import stop_on_signals

log = logging.getLogger(__name__)

SAMPLE_EVERY = 60.0  # seconds between samples of the cluster's figures (what /info plots)
_LAST_SAMPLE = [0.0]  # when this process last took one: the first pass takes one at once


def run_maintenance(components: Components) -> None:
    stop = threading.Event()
    stop_on_signals(stop)
    period = components.config.cache_maintenance_period
    lock = components.redis.lock(components.keys.maintenance_lock, timeout=max(60.0, 2 * period))
    warn_if_index_lost(components)
    log.info("maintenance: every %ss", period)
    while not stop.is_set():
        if run_locked_pass(components, lock):
            beat("maintenance")  # for the container's health check: alive and reaching Redis
        stop.wait(period)


def sample_figures(components: Components, last: list[float]) -> None:
    """The last hour's plots: a sample a minute at most, however short the pass period."""
    now = time.time()
    if now - last[0] >= SAMPLE_EVERY:
        components.statistics.sample(now)
        last[0] = now


def warn_if_index_lost(components: Components) -> None:
    try:
        if components.index_lost():
            log.warning(
                "Redis is empty but storage holds results: run `imagecache admin reindex` to serve "
                "them again (pending requests were lost with Redis; clients must ask again)"
            )
    except (RedisError, StorageError) as exc:
        log.warning("maintenance: cannot compare Redis with storage: %s", exc)


def run_locked_pass(components: Components, lock: Lock) -> bool:
    """One pass, unless another process holds the lock; False when Redis could not be reached."""
    try:
        if not lock.acquire(blocking=False):
            return True
        try:
            components.maintenance.run_pass()
            sample_figures(components, _LAST_SAMPLE)
        finally:
            lock.release()
    except Exception as exc:  # the loop outlives any one pass: the next one may succeed
        if is_outage(exc) or isinstance(exc, LockError):
            log.warning("maintenance: pass skipped: %s", exc)
            return False
        log.exception("maintenance: pass failed: %s", exc)
    return True


def main() -> int:
    """The maintenance process (`imagecache maintenance`): configuration from the environment."""
    components = start_process()
    if components is None:
        return 2
    run_maintenance(components)
    return 0

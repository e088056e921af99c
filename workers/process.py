"""What every worker-side process does first: read the configuration, set up logging, and wait for Redis."""

from __future__ import annotations

import faulthandler
import logging
import signal
import sys
import time

from imagecache.composition import Components
from imagecache.config import ConfigError, load_config
from imagecache.domain.outages import is_outage
from imagecache.ops.logs import setup_logging

log = logging.getLogger(__name__)

MOST_BETWEEN_TRIES = 5.0


def start_process() -> Components | None:
    """This process's components, or None (and a line on stderr) when the configuration is bad."""
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"imagecache: {exc}", file=sys.stderr)
        return None
    setup_logging(config.debug, config.log_format)
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 <pid>`: every thread's stack, on stderr
    components = Components(config)
    _wait_for_redis(components)
    return components


def _wait_for_redis(components: Components) -> None:
    """A worker-side process needs Redis from its first step; one started while Redis is away (a host coming back
    before its network, a failover) waits for it, saying so, instead of dying with a traceback."""
    pause = 0.25
    while True:
        try:
            components.redis.ping()
            return
        except Exception as exc:
            if not is_outage(exc):
                raise
            log.warning("waiting for Redis: %s: %s", type(exc).__name__, exc)
            time.sleep(pause)
            pause = min(2 * pause, MOST_BETWEEN_TRIES)

"""The callback process (`imagecache callbacks`): RQ's own worker on the callback queue, with RQ's scheduler,
which puts each failed callback back on the queue when its retry is due. A plain SimpleWorker: a callback is
one short HTTP call, not worth a fork."""

from __future__ import annotations

import logging

from rq import SimpleWorker

from workers.process import start_process

log = logging.getLogger(__name__)


def main() -> int:
    components = start_process()
    if components is None:
        return 2
    queue = components.callback_queue.queue
    log.info("callbacks: delivering from queue %s", queue.name)
    SimpleWorker([queue], connection=components.rq_redis).work(with_scheduler=True, logging_level="WARNING")
    return 0

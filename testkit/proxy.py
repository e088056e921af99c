"""nginx in front of a stack, from deploy/nginx/imagecache.conf.template filled as envsubst would fill it."""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
from pathlib import Path

import httpx

from testkit.netns import Host
from testkit.processes import ROOT, free_port, wait_until

TEMPLATE = ROOT / "deploy" / "nginx" / "imagecache.conf.template"
MAIN = """daemon off;
user root;
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    include {prefix}/imagecache.conf;
}}
"""


def fill(template: str, **values: str) -> str:
    """`${NAME}` replaced by its value, as the nginx image's envsubst does for the variables it is given; nginx's
    own `$variables` stay. A name the template uses but is not given is an error, not an empty string."""
    return re.sub(r"\$\{(IMAGECACHE_[A-Z_]+)\}", lambda match: values[match.group(1)], template)


class Proxy:
    """nginx over the given web instances, with a self-signed certificate: on 127.0.0.1, or on a host of its own
    (a network namespace: testkit/netns.py)."""

    def __init__(
        self, directory: Path, upstreams: list[str], cert: Path, key: Path, read_timeout: int, host: Host | None = None
    ) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.https_port, self.http_port = free_port(), free_port()
        self.url = f"https://{host.address if host else '127.0.0.1'}:{self.https_port}"
        self.trusted = ssl.create_default_context(cafile=str(cert))
        filled = fill(
            TEMPLATE.read_text(),
            IMAGECACHE_UPSTREAMS=" ".join(f"server {address};" for address in upstreams),
            IMAGECACHE_RESOLVER="",
            IMAGECACHE_CACHE_DIR=str(directory / "cache"),
            IMAGECACHE_READ_TIMEOUT=str(read_timeout),
            IMAGECACHE_HTTPS_PORT=str(self.https_port),
            IMAGECACHE_HTTP_PORT=str(self.http_port),
            IMAGECACHE_TLS_CERT=str(cert),
            IMAGECACHE_TLS_KEY=str(key),
        )
        (directory / "imagecache.conf").write_text(filled)
        (directory / "nginx.conf").write_text(MAIN.format(prefix=directory))
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Proxy:
        nginx = shutil.which("nginx")
        assert nginx, "nginx is not installed"
        argv = [nginx, "-p", str(self.directory), "-c", str(self.directory / "nginx.conf")]
        if self.host is not None:
            self._process = self.host.spawn(argv, {}, self.directory / "stderr.log")
        else:
            self._process = subprocess.Popen(
                argv, stdout=subprocess.DEVNULL, stderr=open(self.directory / "stderr.log", "wb")
            )
        wait_until(self._answers, 15, "nginx")
        return self

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=self.trusted, timeout=kwargs.pop("timeout", 30), **kwargs)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)

    def _answers(self) -> bool:
        try:
            return httpx.get(self.url + "/health/live", verify=self.trusted, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

"""Cached GET of a 64 KiB image: requests/s of imagecache vs nginx serving the same file."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench.harness import environment, figure
from tests.support.processes import free_port, http_ok, wait_until
from tests.support.upstream import make_query, simulate

SIZE = 64 * 1024
DURATION, CONNECTIONS, THREADS = "10s", "64", "2"

NGINX_CONF = """
worker_processes 2;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;
  uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
  server {{ listen 127.0.0.1:{port}; root {root}/www; location / {{ default_type image/png; }} }}
}}
"""


def wrk(url: str) -> float:
    out = subprocess.run(
        ["wrk", "-t", THREADS, "-c", CONNECTIONS, "-d", DURATION, url], capture_output=True, text=True, check=True
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} failed responses")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def nginx_rps(body: bytes) -> float:
    root = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    root.chmod(0o755)  # nginx workers drop to an unprivileged user
    (root / "www").mkdir()
    (root / "tmp").mkdir()
    (root / "www" / "image.png").write_bytes(body)
    port = free_port()
    (root / "nginx.conf").write_text(NGINX_CONF.format(root=root, port=port))
    subprocess.run(["nginx", "-c", str(root / "nginx.conf")], check=True)
    try:
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/image.png"), 10, "nginx")
        return wrk(f"http://127.0.0.1:{port}/image.png")
    finally:
        subprocess.run(["nginx", "-c", str(root / "nginx.conf"), "-s", "stop"], check=False)
        time.sleep(0.5)
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            raise SystemExit(f"cached_get needs {tool}: apt-get install wrk nginx-light")
    with environment() as bench:
        simulate(bench.simulator, pad_to=SIZE)
        entry_id = bench.stack.request(make_query())["id"]
        body = httpx.get(f"{bench.stack.url}/image/{entry_id}", timeout=30).content
        assert len(body) == SIZE, len(body)
        app = wrk(f"{bench.stack.url}/image/{entry_id}")
    reference = nginx_rps(body)
    figure("cached GET 64 KiB, imagecache", f"{app:,.0f} req/s")
    figure("cached GET 64 KiB, nginx (same file)", f"{reference:,.0f} req/s")
    figure("ratio imagecache/nginx (aim >= 0.10)", f"{app / reference:.3f}")


if __name__ == "__main__":
    main()

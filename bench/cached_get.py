"""Cached GET of a 64 KiB image: requests/s and latency tail of imagecache vs nginx serving the same file."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.harness import environment, figure
from testkit.processes import free_port, wait_until
from testkit.upstream import make_query, simulate

SIZE = 64 * 1024
DURATION, CONNECTIONS, THREADS = "10s", "16", "2"

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
  server {{ listen 127.0.0.1:{port}{tls}; root {root}/www; location / {{ default_type image/png; }} }}
}}
"""


@dataclass(frozen=True)
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    requests: int  # how many wrk made


def wrk(url: str) -> Load:
    out = subprocess.run(
        ["wrk", "--latency", "-t", THREADS, "-c", CONNECTIONS, "-d", DURATION, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} failed responses")
    return Load(
        float(_found(r"Requests/sec:\s+([\d.]+)", out)),
        _milliseconds(_found(r"\n\s+50%\s+(\S+)", out)),
        _milliseconds(_found(r"\n\s+99%\s+(\S+)", out)),
        _milliseconds(_found(r"Latency\s+\S+\s+\S+\s+(\S+)", out)),
        int(_found(r"(\d+) requests in", out)),
    )


def _found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise RuntimeError(f"wrk printed no {pattern!r}:\n{text}")
    return match.group(1)


def _milliseconds(value: str) -> float:
    """wrk's durations: 812.00us, 1.20ms, 1.02s, 1.00m."""
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def nginx_load(body: bytes, tls: tuple[Path, Path] | None = None) -> Load:
    """nginx serving `body` as a file under wrk's load; over TLS with (certificate, key)."""
    root = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    root.chmod(0o755)  # nginx workers drop to an unprivileged user
    (root / "www").mkdir()
    (root / "tmp").mkdir()
    (root / "www" / "image.png").write_bytes(body)
    port = free_port()
    listen = f" ssl; ssl_certificate {tls[0]}; ssl_certificate_key {tls[1]}" if tls else ""
    (root / "nginx.conf").write_text(NGINX_CONF.format(root=root, port=port, tls=listen))
    subprocess.run(["nginx", "-c", str(root / "nginx.conf")], check=True)
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/image.png"
    try:
        wait_until(lambda: _answers(url), 10, "nginx")
        return wrk(url)
    finally:
        subprocess.run(["nginx", "-c", str(root / "nginx.conf"), "-s", "stop"], check=False)
        time.sleep(0.5)
        shutil.rmtree(root, ignore_errors=True)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, verify=False, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


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
    reference = nginx_load(body)
    for name, load in (("imagecache", app), ("nginx, the same file (reference)", reference)):
        latency = f"p50 {load.p50_ms:.2f} ms, p99 {load.p99_ms:.2f} ms, max {load.max_ms:.0f} ms"
        figure(f"cached GET 64 KiB, {name}", f"{load.rps:,.0f} req/s; {latency}")
    ratio = app.rps / reference.rps
    figure("ratio imagecache/nginx (aim >= 0.15)", f"{ratio:.3f}")
    figure("imagecache p99 (aim <= 10 ms)", f"{app.p99_ms:.2f} ms")


if __name__ == "__main__":
    main()

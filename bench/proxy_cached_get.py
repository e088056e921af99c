"""Cached GET of a 64 KiB image through the proxy in front (deploy/nginx/imagecache.conf.template, proxy_cache,
TLS): requests/s and latency against nginx serving the same file over TLS in the same run (aim >= 0.8), and the
fraction of those requests that reached the app (aim 0)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import httpx

from bench.cached_get import SIZE, nginx_load, wrk
from bench.harness import environment, figure
from testkit.proxy import Proxy
from testkit.tls import self_signed
from testkit.upstream import make_query, simulate

IMAGE_GETS = re.compile(
    r'imagecache_http_request_duration_seconds_count\{method="GET",route="/image/\{entry_id\}"[^}]*\} (\S+)'
)


def app_image_gets(url: str) -> float:
    return sum(float(n) for n in IMAGE_GETS.findall(httpx.get(url + "/metrics", timeout=10).text))


def main() -> None:
    with environment() as bench, tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        cert, key = self_signed(directory)
        proxy = Proxy(directory, [bench.stack.url.removeprefix("http://")], cert, key, read_timeout=200).start()
        try:
            simulate(bench.simulator, pad_to=SIZE)
            entry_id = bench.stack.request(make_query())["id"]
            with proxy.client() as client:
                body = client.get(f"/image/{entry_id}").content
            assert len(body) == SIZE, len(body)
            before = app_image_gets(bench.stack.url)
            through = wrk(f"{proxy.url}/image/{entry_id}")
            reached = app_image_gets(bench.stack.url) - before
        finally:
            proxy.stop()
        direct = nginx_load(body, tls=(cert, key))
    for name, load in (("via the proxy's cache", through), ("nginx, the same file (reference)", direct)):
        latency = f"p50 {load.p50_ms:.2f} ms, p99 {load.p99_ms:.2f} ms, max {load.max_ms:.0f} ms"
        figure(f"cached GET 64 KiB over TLS, {name}", f"{load.rps:,.0f} req/s; {latency}")
    figure("ratio proxy cache / nginx direct (aim >= 0.8)", f"{through.rps / direct.rps:.2f}")
    share = reached / through.requests
    figure("repeats that reached the app (aim 0)", f"{reached:.0f} of {through.requests:,} ({share:.4%})")


if __name__ == "__main__":
    main()

"""Redis round trips per fresh result: the stack talks to Redis through a counting proxy on loopback.

A round trip is a request and its answer: bytes from a client, then bytes back. A pipeline or a script is
one, a blocking pop that waits is one, and a pub/sub message pushed to a subscriber is none. The proxy adds
a hop, so throughput in this run is not a figure; bench/fresh_results.py measures that without it.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

from redis import Redis

from bench.fresh_results import CLIENTS, produce_one, redis_commands
from bench.harness import REDIS_URL, environment, figure
from testkit.processes import free_port
from testkit.upstream import simulate

QUERIES = 200
CHUNK = 64 * 1024


class CountingProxy:
    """Forwards every connection to Redis and counts the switches from client-speaks to server-answers."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self.port = free_port()
        self.url = urlunsplit(parts._replace(netloc=f"127.0.0.1:{self.port}"))
        self.round_trips = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()

    def start(self) -> CountingProxy:
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait(10)
        return self

    def reset(self) -> None:
        self.round_trips = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(asyncio.start_server(self._connection, "127.0.0.1", self.port))
        self._ready.set()
        self._loop.run_forever()  # a daemon thread: it ends with the benchmark

    async def _connection(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        server_in, server_out = await asyncio.open_connection(*self._target)
        asked = [False]  # the client has spoken since the server last answered

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter, from_client: bool) -> None:
            while data := await source.read(CHUNK):
                if from_client:
                    asked[0] = True
                elif asked[0]:
                    asked[0] = False
                    self.round_trips += 1
                sink.write(data)
                await sink.drain()
            sink.close()

        await asyncio.gather(
            pipe(client_in, server_out, True), pipe(server_in, client_out, False), return_exceptions=True
        )


def main() -> None:
    proxy = CountingProxy(REDIS_URL).start()
    env = {"REDIS_URL": proxy.url, "WORKER_CONCURRENCY": "16"}
    with environment(**env) as bench:
        simulate(bench.simulator, latency_ms=0)
        redis = Redis.from_url(REDIS_URL, decode_responses=True)
        produce_one(bench.stack.url)  # warm
        proxy.reset()
        redis.config_resetstat()
        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = [result.status for result in pool.map(lambda _: produce_one(bench.stack.url), range(QUERIES))]
        trips, commands = proxy.round_trips, sum(redis_commands(redis).values())
    figure(f"{QUERIES} fresh results through the proxy", f"{statuses.count(200)} x 200")
    figure("Redis round trips per fresh result", f"{trips / QUERIES:.1f} (aim <= 6; background ticks included)")
    figure("Redis commands per fresh result", f"{commands / QUERIES:.0f} (aim <= 30)")


if __name__ == "__main__":
    main()

"""The floor's worker: threads that each move a job to the working list, call the upstream through httpx's
transport, write the result's file and settle the entry in one script, as imagecache's runner threads do.

    python -m bench.floor.worker
"""

from __future__ import annotations

import json
import os
import threading

import httpx
import pybase64
from redis import Redis

from bench.floor.shape import DONE, FAILED, KEYS, SETTLE, Settings

THREADS = 16
HEADERS = {"X-CH-Auth-Email": "bench@example.com", "X-CH-Auth-API-Token": "bench", "Accept": "application/json"}


class Producer:
    def __init__(self, settings: Settings) -> None:
        self._redis = Redis.from_url(settings.redis_url)
        self._settle = self._redis.register_script(SETTLE)
        self._results = settings.results
        self._url = httpx.URL(settings.upstream.rstrip("/") + "/query/topXchart")
        limits = httpx.Limits(max_connections=THREADS, max_keepalive_connections=THREADS)
        self._transport = httpx.HTTPTransport(limits=limits)

    def run(self) -> None:
        while True:
            job = self._redis.blmove(KEYS.jobs, KEYS.working, 1, "RIGHT", "LEFT")
            if job is not None:
                self._produce(job)

    def _produce(self, job: bytes) -> None:
        parsed = json.loads(job)
        entry = parsed["id"]
        try:
            self._store(entry, self._fetch(parsed["query"]))
            state = DONE
        except (httpx.HTTPError, KeyError, ValueError, OSError):
            state = FAILED
        self._settle(keys=[KEYS.entry(entry), KEYS.working, KEYS.settled], args=[entry, state, job])

    def _fetch(self, query: object) -> bytes:
        response = self._transport.handle_request(httpx.Request("POST", self._url, json=query, headers=HEADERS))
        try:
            response.read()
        finally:
            response.close()
        if response.status_code != 200:
            raise ValueError(f"the upstream answered {response.status_code}")
        return pybase64.b64decode(response.json()["dataUri"].split(",", 1)[1], validate=True)

    def _store(self, entry: str, data: bytes) -> None:
        """Written under a name of this thread's, then renamed: a reader sees the whole file or none."""
        partial = self._results / f".{entry}.{threading.get_ident()}"
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            os.write(descriptor, data)
        finally:
            os.close(descriptor)
        os.rename(partial, self._results / entry)


def main() -> None:
    producer = Producer(Settings.from_environment())
    threads = [threading.Thread(target=producer.run, daemon=True) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()

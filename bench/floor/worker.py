"""The floor's worker: threads that each move a job to the worker's working list, call the upstream through httpx's
transport, store the result as the filesystem store does at the least, and settle the entry in one script.

    python -m bench.floor.worker
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import threading
import uuid

import httpx
import pybase64
from redis import Redis

from bench.floor.shape import DONE, FAILED, SETTLE, Keys, Settings
from bench.harness import UPSTREAM_AUTH, bare_put

log = logging.getLogger("floor")


class Producer:
    def __init__(self, settings: Settings) -> None:
        self._redis = Redis.from_url(settings.redis_url)
        self._settle = self._redis.register_script(SETTLE)
        self._working = Keys.working(uuid.uuid4().hex[:8])
        self._results = settings.results
        self._url = httpx.URL(settings.upstream.rstrip("/") + "/query/topXchart")
        self._tls = httpx.create_ssl_context()
        self._idle: collections.deque[httpx.HTTPTransport] = collections.deque()  # as imagecache's Kentik fetcher

    def run(self) -> None:
        while True:
            job = self._redis.blmove(Keys.jobs, self._working, 1, "RIGHT", "LEFT")
            if job is not None:
                self._produce(job)

    def _produce(self, job: bytes) -> None:
        parsed = json.loads(job)
        entry = parsed["id"]
        try:
            self._store(entry, self._fetch(parsed["query"]))
            state = DONE
        except Exception:  # any failure settles the entry: none is left pending
            log.exception("floor: %s failed", entry)
            state = FAILED
        self._settle(keys=[Keys.entry(entry), self._working, Keys.settled], args=[entry, state, job])

    def _fetch(self, query: object) -> bytes:
        request = httpx.Request("POST", self._url, json=query, headers=UPSTREAM_AUTH)
        try:
            transport = self._idle.pop()
        except IndexError:
            transport = httpx.HTTPTransport(verify=self._tls, limits=httpx.Limits(max_connections=1))
        try:
            response = transport.handle_request(request)
            try:
                response.read()
            finally:
                response.close()
        finally:
            self._idle.append(transport)
        if response.status_code != 200:
            raise ValueError(f"the upstream answered {response.status_code}")
        _, comma, payload = response.json()["dataUri"].partition(",")
        if not comma:
            raise ValueError("no data in the upstream's answer")
        return pybase64.b64decode(payload, validate=True)

    def _store(self, entry: str, data: bytes) -> None:
        """With its checksum and type as an attribute, as imagecache keeps a result (bench.harness.bare_put)."""
        metadata = {"content_type": "image/png", "sha256": hashlib.sha256(data).hexdigest()}
        bare_put(self._results, entry, data, json.dumps(metadata).encode())


def main() -> None:
    settings = Settings.from_environment()
    producer = Producer(settings)
    threads = [threading.Thread(target=producer.run, daemon=True) for _ in range(settings.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()

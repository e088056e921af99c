"""The client of the Kentik-compatible image cache: ask by query, get a local file.

An image id names bytes that never change before the id's expiry, so a local
copy is used until then without asking the server; `fetch(query)` finds it by
the query's own hash (the first half of every id).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx

from imagecache_client.errors import ClientError, NotFound, Timeout, Unavailable, UpstreamError
from imagecache_client.ids import EntryId, query_digest
from imagecache_client.local import DEFAULT_MAX_BYTES, Fetched, LocalImage, offline_copy
from imagecache_client.progress import Progress
from imagecache_client.session import Session
from imagecache_client.transfer import content_length, receive
from imagecache_client.transport import DEFAULT_TIMEOUT, error_for, error_message, json_answer

ENTRY_STATUS = "Imagecache-Entry-Status"  # the server's marker: "error" (an error entry) or "pending"
FAILURES = tuple(range(400, 600))
READ_TIMEOUT = 120.0


@dataclass(frozen=True)
class Entry:
    id: str
    status: str  # pending, active, error, or stale (a stale result answered, as the request allowed)
    expires_at: float
    cache_status: str = ""  # how the server answered: its Cache-Status (RFC 9211), e.g. "imagecache; hit"
    signed_url: str = ""  # with Extras.signed_url_ttl: the result's URL anyone may GET, without a key, until it expires


@dataclass(frozen=True)
class Extras:
    """A request's options beyond ttl, max_age and refresh (docs/reference/http-api.md says what each does)."""

    job: str | None = None  # the job kind; None: the deployment's default
    tags: tuple[str, ...] = ()  # what POST /purge removes the result by
    stale_while_revalidate: int | None = None  # seconds past max_age a stale result may answer meanwhile
    stale_if_error: int | None = None  # seconds past max_age the last good result answers a failed refresh
    callback_url: str | None = None  # POSTed to, signed, when the entry settles
    signed_url_ttl: int | None = None  # ask for Entry.signed_url, good this many seconds (the server's secret signs)

    def body(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "job": self.job,
            "stale_while_revalidate": self.stale_while_revalidate,
            "stale_if_error": self.stale_if_error,
            "callback_url": self.callback_url,
            "signed_url_ttl": self.signed_url_ttl,
        }
        if self.tags:
            fields["tags"] = list(self.tags)
        return {name: value for name, value in fields.items() if value is not None}


PLAIN = Extras()


@dataclass(frozen=True)
class ImageRequest:
    """What to ask for: a query and its options, as in a POST /requests body."""

    api_query: dict[str, Any]
    ttl: int | None = None
    max_age: int | None = None

    @classmethod
    def from_json(cls, value: Any) -> ImageRequest:
        """A request body ({"api_query": ..., "ttl": ...}) or a bare query object."""
        if not isinstance(value, dict) or not value:
            raise ValueError("a query must be a non-empty JSON object")
        if not isinstance(value.get("api_query"), dict):
            return cls(value)
        options = {name: value.get(name) for name in ("ttl", "max_age")}
        for name, option in options.items():
            if option is not None and (isinstance(option, bool) or not isinstance(option, int)):
                raise ValueError(f"'{name}' must be an integer")
        return cls(value["api_query"], **options)


class ImageCacheClient(Session):
    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        cache_dir: Path | str | None = None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        wait_timeout: float = 600.0,
        http: httpx.Client | None = None,
        progress: Progress | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        super().__init__(url, headers, cache_dir, max_bytes, http, progress)
        self.wait_timeout = wait_timeout

    def request(
        self,
        query: dict[str, Any],
        ttl: int | None = None,
        max_age: int | None = None,
        refresh: bool = False,
        extras: Extras = PLAIN,
    ) -> Entry:
        """Ask for a result; answers at once with the entry that will hold it."""
        body = request_body(ImageRequest(query, ttl, max_age), refresh, extras)
        return entry_of(self.server, self._conn.call("POST", "/requests", json=body))

    def image(self, entry_id: str) -> bytes:
        """The image's bytes, waiting while it is produced (kept locally until its expiry)."""
        return self.fetch_id(entry_id).path.read_bytes()

    def fetch(
        self,
        query: dict[str, Any],
        ttl: int | None = None,
        max_age: int | None = None,
        refresh: bool = False,
        extras: Extras = PLAIN,
    ) -> Path:
        """The local path of the query's image: the local copy if unexpired, else requested and downloaded."""
        return self.fetch_entry(query, ttl=ttl, max_age=max_age, refresh=refresh, extras=extras).path

    def fetch_entry(
        self,
        query: dict[str, Any],
        ttl: int | None = None,
        max_age: int | None = None,
        refresh: bool = False,
        extras: Extras = PLAIN,
    ) -> Fetched:
        if not refresh and (copy := self.local_copy(query, max_age, extras.job)):
            return copy
        try:
            entry = self.request(query, ttl=ttl, max_age=max_age, refresh=refresh, extras=extras)
            return self.fetch_id(entry.id)
        except (Unavailable, Timeout) as exc:
            missing = "the local cache has no unexpired copy of this query's image"
            return offline_copy(exc, self.local_copy(query, job=extras.job), missing)

    def local_copy(self, query: dict[str, Any], max_age: int | None = None, job: str | None = None) -> Fetched | None:
        """The query's unexpired image if the local cache has it (found by the query's hash, offline). A job
        kind named is taken as not the deployment's default (whose ids are the query's hash alone)."""
        copy = self.local.image_for_query(self.server, query_digest(query, job), max_age)
        return Fetched(copy.path, copy.size, True) if copy else None

    def status(self, entry_id: str, wait: float | None = None) -> dict[str, Any]:
        """The entry's status at once, or (`wait`) as soon as it settles or after that many seconds."""
        params, timeout = status_options(wait)
        return self._conn.call_json("GET", f"/requests/{entry_id}", ("id", "status"), params=params, timeout=timeout)

    def events(self, entry_ids: list[str], wait: float | None = None) -> Iterator[dict[str, Any]]:
        """Each entry's {id, status, size, type} as it settles (or, when `wait` runs out, as it stands), over one
        server-sent event stream."""
        params = {"wait": wait} if wait is not None else {}
        timeout = httpx.Timeout(DEFAULT_TIMEOUT.connect, read=None)
        with self._conn.stream("POST", "/events", json={"ids": entry_ids}, params=params, timeout=timeout) as stream:
            events = EntryEvents()
            for line in stream.iter_lines():
                if (entry := events.read(line)) is not None:
                    yield entry

    def purge(self, tags: list[str], soft: bool = False) -> int:
        """Remove (or, soft, mark stale) every result carrying any of the tags; how many."""
        answer = self._conn.call_json("POST", "/purge", ("purged",), json={"tags": tags, "soft": soft})
        return int(answer["purged"])

    def jobs(self) -> dict[str, Any]:
        """The job kinds the server runs now, with their settings, and its default."""
        return self._conn.call_json("GET", "/jobs", ("default", "jobs"))

    def fetch_id(self, entry_id: str) -> Fetched:
        """The image in the local cache, downloaded (after waiting for it) unless it is already there."""
        if EntryId.parse(entry_id) is None:
            raise NotFound(f"not an image id: {entry_id!r}", 404)
        copy = self.local.image(self.server, entry_id)
        if copy is not None:
            return Fetched(copy.path, copy.size, True)
        image = self._download(entry_id)
        return Fetched(image.path, image.size, False)

    def info(self, limit: int | None = None, cursor: str | None = None) -> dict[str, Any]:
        """The server's /info: counts, bytes, hit ratio, a page of entries."""
        params = {k: v for k, v in (("limit", limit), ("cursor", cursor)) if v is not None}
        return self._conn.call_json("GET", "/info", params=params, headers=INFO_HEADERS)

    def _download(self, entry_id: str) -> LocalImage:
        """Ask until the server stops saying "still pending", within wait_timeout in all."""
        deadline = time.monotonic() + self.wait_timeout
        while (remaining := deadline - time.monotonic()) > 0:
            timeout = httpx.Timeout(DEFAULT_TIMEOUT.connect, read=remaining)
            try:
                with self._conn.stream("GET", f"/image/{entry_id}", ok=FAILURES, timeout=timeout) as response:
                    if response.is_success:
                        return self._store(response, entry_id)
                    response.read()
                    if not still_pending(response):
                        raise image_error(response)
            except Timeout:
                if time.monotonic() < deadline:
                    raise  # the server did not answer (connect, a stalled body): not a wait that ran out
                break
            time.sleep(min(0.1, remaining))
        raise Timeout(f"image {entry_id} was not ready within {self.wait_timeout:g} s")

    def _store(self, response: httpx.Response, entry_id: str) -> LocalImage:
        content_type = response.headers.get("Content-Type", "application/octet-stream")
        with self.local.writer() as writer, self.progress.transfer(entry_id[:12], content_length(response)) as advance:
            receive(response, writer, advance)
            return self.local.store_image(self.server, entry_id, produced_at(response), content_type, writer)


INFO_HEADERS = {"Accept": "application/json"}  # /info answers browsers with a page


def request_body(asked: ImageRequest, refresh: bool, extras: Extras) -> dict[str, Any]:
    """A POST /requests body: only what is asked for, so the server's defaults hold for the rest."""
    body: dict[str, Any] = {"api_query": asked.api_query, **extras.body()}
    body.update({k: v for k, v in (("ttl", asked.ttl), ("max_age", asked.max_age)) if v is not None})
    if refresh:
        body["refresh"] = True
    return body


def entry_of(server: str, response: httpx.Response) -> Entry:
    """The Entry a POST /requests answered with."""
    answer = json_answer(server, response, "/requests", ("id", "status", "expires_at"))
    signed_url = server + answer["signed_url"] if isinstance(answer.get("signed_url"), str) else ""
    cache_status = response.headers.get("Cache-Status", "")
    return Entry(answer["id"], answer["status"], float(answer["expires_at"]), cache_status, signed_url)


def status_options(wait: float | None) -> tuple[dict[str, float], httpx.Timeout]:
    """GET /requests/<id>'s parameters, and a read timeout that outlasts the wait."""
    params = {"wait": wait} if wait is not None else {}
    return params, httpx.Timeout(DEFAULT_TIMEOUT.connect, read=(wait or 0) + READ_TIMEOUT)


class EntryEvents:
    """Reads /events' server-sent lines: each settled entry's fields, once its `data:` line comes."""

    def __init__(self) -> None:
        self._event = ""

    def read(self, line: str) -> dict[str, Any] | None:
        if line.startswith("event: "):
            self._event = line[7:]
        elif line.startswith("data: ") and self._event == "entry":
            entry: dict[str, Any] = json.loads(line[6:])
            return entry
        return None


def produced_at(response: httpx.Response) -> float:
    """The server's Last-Modified (when it produced the result); now, if it does not say."""
    try:
        return parsedate_to_datetime(response.headers["Last-Modified"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return time.time()


def still_pending(response: httpx.Response) -> bool:
    """The server gave up waiting for a pending entry (not an upstream timeout): ask again."""
    return response.headers.get(ENTRY_STATUS) == "pending"


def image_error(response: httpx.Response) -> ClientError:
    """An error entry carries the upstream's own status; anything else is the server's (or a proxy's)."""
    if response.headers.get(ENTRY_STATUS) == "error":
        return UpstreamError(response.status_code, error_message(response))
    return error_for(response)

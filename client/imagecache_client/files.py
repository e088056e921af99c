"""The client of the token-scoped file cache (/v1): the whole generate-id, upload, download workflow.

A cache id's file can be replaced, so a local copy is revalidated with its
ETag once it is older than `revalidate_after` (a day, as baiji-pod does); a
304 keeps it. `cached(params, produce)` is the seed's workflow in one call,
and one process per machine produces a missing result while others wait.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import logging
import mimetypes
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from imagecache_client.errors import ClientError, NotFound, Timeout, Unavailable
from imagecache_client.ids import canonical_json
from imagecache_client.local import DEFAULT_MAX_BYTES, BlobWriter, Fetched, LocalFile, offline_copy
from imagecache_client.local.unsent import Unsent
from imagecache_client.progress import Progress
from imagecache_client.session import Session
from imagecache_client.transfer import content_length, multipart, receive

log = logging.getLogger("imagecache.client")

DAY = 24 * 3600.0
Produce = Callable[[Path], object]
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Uploaded:
    cache_id: str
    sha256: str
    size: int
    filename: str  # as the server keeps it


class FileCacheClient(Session):
    def __init__(
        self,
        url: str,
        token: str,
        cache_dir: Path | str | None = None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        revalidate_after: float = DAY,
        http: httpx.Client | None = None,
        progress: Progress | None = None,
    ) -> None:
        super().__init__(url, {"Authorization": token}, cache_dir, max_bytes, http, progress)
        self.owner = owner_of(token)
        self.revalidate_after = revalidate_after

    def cache_id(self, params: dict[str, Any]) -> str:
        """The server's id for these parameters under this token (remembered for offline use)."""
        answer = self._conn.call_json(
            "POST",
            "/v1/cache_id",
            ("cache_id",),
            content=canonical_json(params).encode(),
            headers={"Content-Type": "application/json"},
        )
        self.local.remember_cache_id(self.server, self._params_key(params), answer["cache_id"])
        return answer["cache_id"]

    def upload(self, cache_id: str, path: Path | str) -> Uploaded:
        """Store a file under the id: streamed, refused by the server unless its sha256 matches.

        The file is not copied into the local cache (it is the caller's; a copy of a large result
        would cost a disk write and evict others); a local copy of the id's old file is dropped.
        """
        source = Path(path)
        with open(source, "rb") as file:
            sha256 = hashlib.file_digest(file, "sha256").hexdigest()
            size = file.tell()
        filename = self._send(cache_id, source, sha256, source.name)
        self.local.forget_file(self.server, self.owner, cache_id)
        return Uploaded(cache_id, sha256, size, filename)

    def download(self, cache_id: str, dest: Path | str) -> Path:
        """The id's file written to `dest` atomically, from the local copy when it is still valid."""
        return self.local.export(self.fetch(cache_id), Path(dest))

    def fetch(self, cache_id: str) -> Path:
        """The local path of the id's file (read-only), revalidated with the server when the copy is old."""
        return self.fetch_file(cache_id).path

    def fetch_file(self, cache_id: str) -> Fetched:
        copy = self._copy(cache_id)
        if copy is not None and self._fresh(copy):
            return fetched_copy(copy)
        try:
            return self._revalidate(cache_id, copy)
        except NotFound:
            self.local.forget_file(self.server, self.owner, cache_id)
            raise
        except (Unavailable, Timeout) as exc:
            return self._offline(exc, cache_id, f"the local cache has no copy of cache id {cache_id}")

    def fetch_params(self, params: dict[str, Any]) -> Fetched:
        """The file cached for these parameters; their id is asked for unless a valid copy is already here."""
        remembered = self.local.cache_id(self.server, self._params_key(params))
        copy = self._copy(remembered) if remembered else None
        if copy is not None and self._fresh(copy):
            return fetched_copy(copy)
        try:
            cache_id = self.cache_id(params)
        except (Unavailable, Timeout) as exc:
            return self._offline(exc, remembered, "these parameters were never cached here")
        return self.fetch_file(cache_id)

    def delete(self, cache_id: str) -> None:
        try:
            self._conn.call("DELETE", self._path(cache_id))
        finally:
            self.local.forget_file(self.server, self.owner, cache_id)

    def cached(self, params: dict[str, Any], produce: Produce, filename: str = "result") -> Path:
        """The cached file for `params`; when there is none, `produce(path)` writes it and it is uploaded.

        Callers on one machine share a lock per parameters (waited for as long as a producer takes),
        so `produce` runs once for all of them. A cache failure is a miss, never a failed job: with the
        server away, the result is produced all the same, kept here with a warning, and uploaded by a later
        call once the server is back.
        """
        key = self._params_key(params)
        with self.local.lock(key):
            unsent = self.local.unsent.get(self.server, self.owner, key)
            if unsent is not None:
                return self._upload_unsent(params, unsent)
            try:
                return self.fetch_params(params).path
            except (NotFound, Unavailable, Timeout):
                pass  # not cached, or the server cannot say: produce it
            with self._produced(produce) as result:
                try:
                    cache_id = self.local.cache_id(self.server, key) or self.cache_id(params)
                    kept_as = self._send(cache_id, result.path, result.sha256, filename)
                except (Unavailable, Timeout) as exc:
                    log.warning("%s; the result produced here is kept and uploaded on a later call", exc.message)
                    return self.local.unsent.keep(self.server, self.owner, key, filename, result).path
                return self._keep(cache_id, result, kept_as).path

    @contextmanager
    def _produced(self, produce: Produce) -> Iterator[BlobWriter]:
        """What `produce(path)` wrote, as a new local blob (removed unless a store takes it)."""
        output = self.local.temp_path()
        try:
            produce(output)
            if not output.is_file():
                raise ClientError(f"produce did not write its result to {output}")
            with self.local.writer(existing=output) as result:
                yield result
        finally:
            output.unlink(missing_ok=True)

    def _upload_unsent(self, params: dict[str, Any], unsent: Unsent) -> Path:
        """A result produced while the server was away: uploaded now if it can be, served from here either way."""
        try:
            cache_id = self.cache_id(params)
            kept_as = self._send(cache_id, unsent.path, unsent.sha256, unsent.filename)
        except (Unavailable, Timeout) as exc:
            log.warning("%s; using the result produced here, %s, not uploaded yet", exc.message, unsent.path)
            return unsent.path
        content_type = guessed_type(kept_as)
        self.local.unsent.sent(unsent, cache_id, kept_as, content_type)
        log.info("uploaded the result produced here while the server was away as %s", cache_id)
        return unsent.path

    def memoize(self, func: F) -> Callable[..., Path]:
        """Decorator: `func(..., *, path)` writes its result to `path`; calls without it return the cached file.

        The parameters are the function's name and its other arguments, which must be JSON values.
        """
        name, signature = memoizable(func)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Path:
            params = memoized_params(name, signature, args, kwargs)
            return self.cached(params, lambda path: func(*args, **kwargs, path=path), filename=func.__name__)

        return wrapper

    def _send(self, cache_id: str, source: Path, sha256: str, filename: str) -> str:
        """POST the file (the server refuses it unless its sha256 matches); the filename the server kept."""
        content_type = guessed_type(filename)
        with self.progress.transfer(f"put {filename}", source.stat().st_size) as advance:
            headers, body = multipart(source, filename, content_type, advance)
            answer = self._conn.call_json(
                "POST", self._path(cache_id), content=body, headers={**headers, "X-Content-SHA256": sha256}
            )
        return answer.get("filename", filename)

    def _keep(self, cache_id: str, blob: BlobWriter, filename: str) -> LocalFile:
        content_type = guessed_type(filename)
        return self.local.store_file(
            self.server, self.owner, cache_id, f'"{blob.sha256}"', filename, content_type, blob
        )

    def _revalidate(self, cache_id: str, copy: LocalFile | None) -> Fetched:
        """Ask with the copy's ETag: a 304 confirms it, a 200 brings the file as it is now."""
        headers = {"If-None-Match": copy.etag} if copy else {}
        with self._conn.stream("GET", self._path(cache_id), ok=(304,), headers=headers) as response:
            if response.status_code != 304 or copy is None:
                return self._receive(cache_id, response)
        confirmed = self.local.mark_validated(self.server, self.owner, cache_id)
        if confirmed is None:  # evicted while the server was asked: get it whole
            return self._revalidate(cache_id, None)
        return fetched_copy(confirmed)

    def _receive(self, cache_id: str, response: httpx.Response) -> Fetched:
        with (
            self.local.writer() as writer,
            self.progress.transfer(f"get {cache_id[:12]}", content_length(response)) as advance,
        ):
            receive(response, writer, advance)
            stored = self.local.store_file(
                self.server,
                self.owner,
                cache_id,
                response.headers.get("ETag", f'"{writer.sha256}"'),
                filename_of(response),
                response.headers.get("Content-Type", "application/octet-stream"),
                writer,
            )
        return Fetched(stored.path, stored.size, False)

    def _offline(self, exc: ClientError, cache_id: str | None, missing: str) -> Fetched:
        """The local copy as it is now (not as it was before the server was asked), with a warning."""
        copy = self._copy(cache_id) if cache_id else None
        return offline_copy(exc, fetched_copy(copy) if copy else None, missing)

    def _copy(self, cache_id: str) -> LocalFile | None:
        return self.local.file(self.server, self.owner, cache_id)

    def _fresh(self, copy: LocalFile) -> bool:
        return time.time() - copy.validated_at < self.revalidate_after

    def _params_key(self, params: dict[str, Any]) -> str:
        return params_key(self.owner, params)

    @staticmethod
    def _path(cache_id: str) -> str:
        return file_path(cache_id)


def owner_of(token: str) -> str:
    """Local records are per token, named by its hash: the token itself is never stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def params_key(owner: str, params: dict[str, Any]) -> str:
    """Local name of (token, params)."""
    return hashlib.sha256(f"{owner}\n{canonical_json(params)}".encode()).hexdigest()


def file_path(cache_id: str) -> str:
    return f"/v1/cache/{quote(cache_id, safe='')}"


def guessed_type(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def memoized_params(name: str, signature: inspect.Signature, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
    """A memoized call's parameters: the function's name and its arguments but `path`, which must be JSON."""
    if "path" in kwargs:
        raise TypeError(f"{name}: the cache gives 'path'; call it without")
    bound = signature.bind(*args, **kwargs, path=None)  # a missing argument fails here, not later
    bound.apply_defaults()
    params = {"function": name, "arguments": {k: v for k, v in bound.arguments.items() if k != "path"}}
    canonical_json(params)  # a TypeError here names the argument that is not JSON
    return params


def memoizable(func: Callable[..., Any]) -> tuple[str, inspect.Signature]:
    """The name a memoized function's results are kept under, and its signature; it must take a keyword-only
    `path` to write its result to."""
    signature = inspect.signature(func)
    where = signature.parameters.get("path")
    if where is None or where.kind is not inspect.Parameter.KEYWORD_ONLY:
        raise TypeError(f"{func.__qualname__} needs a keyword-only 'path' parameter to write its result to")
    return f"{func.__module__}.{func.__qualname__}", signature


def fetched_copy(copy: LocalFile) -> Fetched:
    return Fetched(copy.path, copy.size, True)


def filename_of(response: httpx.Response) -> str:
    message = Message()
    message["Content-Disposition"] = response.headers.get("Content-Disposition", "")
    return message.get_filename() or "file"

"""Filling the local cache with many results and assets at once (`imagecache-client prefill`).

Images go in two steps: every query is asked for first (the server then
produces them all in parallel), then the images are downloaded as they
become ready, `jobs` at a time. /v1 files and S3 assets (plain or versioned)
are downloaded in one step each.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, TypeVar

from imagecache_client.errors import ClientError
from imagecache_client.files import FileCacheClient
from imagecache_client.images import ImageCacheClient, ImageRequest
from imagecache_client.local import Fetched


@dataclass
class PrefillReport:
    total: int
    hits: int = 0
    fetched: int = 0
    fetched_bytes: int = 0
    failures: list[tuple[int, ClientError]] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.hits + self.fetched + len(self.failures)

    def add(self, index: int, outcome: Fetched | ClientError) -> None:
        if isinstance(outcome, ClientError):
            self.failures.append((index, outcome))
        elif outcome.from_cache:
            self.hits += 1
        else:
            self.fetched += 1
            self.fetched_bytes += outcome.size


OnItem = Callable[[PrefillReport], None]
Wanted = ImageRequest | dict[str, Any] | str  # a query, /v1 cache params, or an asset path
T = TypeVar("T")


def prefill(
    items: Sequence[Wanted],
    jobs: int,
    on_item: OnItem,
    *,
    images: ImageCacheClient | None = None,
    files: FileCacheClient | None = None,
    assets: Callable[[str], Fetched] | None = None,
) -> PrefillReport:
    """Each item into the local cache, by its kind: a query through `images`, /v1 cache params through `files`, an
    asset path (`s3://...`, or a versioned path when `assets` is a VersionedCache's) through `assets`."""

    def start(item: Wanted) -> Fetched | str:
        if isinstance(item, ImageRequest):
            client = _given(images, "queries", "an image client")
            return (
                client.local_copy(item.api_query, item.max_age)
                or client.request(item.api_query, ttl=item.ttl, max_age=item.max_age).id
            )
        if isinstance(item, str):
            return _given(assets, "asset paths", "an asset cache")(item)
        return _given(files, "cache params", "a file client").fetch_params(item)

    def finish(step: Fetched | str) -> Fetched:
        return step if isinstance(step, Fetched) else _given(images, "queries", "an image client").fetch_id(step)

    return _run(list(items), start, finish, jobs, on_item)


def _given(client: T | None, items: str, what: str) -> T:
    if client is None:
        raise ClientError(f"{items} need {what}")
    return client


def _run(
    items: list[Any], start: Callable[[Any], Any], finish: Callable[[Any], Fetched], jobs: int, on_item: OnItem
) -> PrefillReport:
    report = PrefillReport(total=len(items))
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="prefill") as pool:
        try:
            started = {pool.submit(start, item): index for index, item in enumerate(items)}
            finishing: dict[Future[Fetched], int] = {}
            for future, index in _completed(started):
                step = _outcome(future)
                if isinstance(step, ClientError):
                    _record(report, index, step, on_item)
                else:
                    finishing[pool.submit(finish, step)] = index
            for future, index in _completed(finishing):
                _record(report, index, _outcome(future), on_item)
        except BaseException:  # Ctrl-C: what has not started never will
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    report.failures.sort(key=lambda failure: failure[0])
    return report


def _completed(futures: dict[Future[Any], int]) -> Iterable[tuple[Future[Any], int]]:
    for future in as_completed(futures):
        yield future, futures[future]


def _outcome(future: Future[Any]) -> Any:
    """The future's result, or what it raised as a ClientError (a bug propagates)."""
    try:
        return future.result()
    except ClientError as exc:
        return exc
    except (OSError, sqlite3.Error) as exc:  # the local disk or index: this item failed, the rest may not
        return ClientError(f"local cache: {exc}")


def _record(report: PrefillReport, index: int, outcome: Fetched | ClientError, on_item: OnItem) -> None:
    report.add(index, outcome)
    on_item(report)

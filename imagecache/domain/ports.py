"""The ports: what the services need from the world, as Protocols the adapters implement.

Services are written against these alone; the composition root (composition.py)
picks the adapters: the Redis index (index/), a blob store (blobs/), a fetcher
(the job kinds, jobs/), a token authority (auth/) and the RQ queue (queueing/).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from imagecache.domain.entry_record import EntryPage, EntryRecord, EntryRequest, JobDraft, RequestOutcome
from imagecache.domain.error_backoff import ErrorBackoff
from imagecache.domain.file_record import FileRecord, Replaced
from imagecache.domain.identity import Identity
from imagecache.domain.job_settings import JobSettings
from imagecache.domain.progress import JobProgress

# Blobs


class Readable(Protocol):
    """What a blob is written from: anything read in pieces (a socket's body, a file, bytes in memory)."""

    def read(self, size: int = -1, /) -> bytes: ...


class BlobReader(Protocol):
    """An open blob, read in bounded pieces and then closed (what a response streams: read(None) is read())."""

    def read(self, size: int | None = -1, /) -> bytes: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class BlobInfo:
    size: int
    sha256: str


@dataclass(frozen=True)
class StoredBlob:
    """A blob as listed, with the metadata it was stored with (what rebuilds its index entry)."""

    key: str
    size: int
    etag: str
    content_type: str
    modified: float
    metadata: dict[str, str]


class BlobStore(Protocol):
    """Writes are atomic (a reader sees the old blob or the new one, never a part) and stream in bounded chunks."""

    def put(self, key: str, stream: Readable, content_type: str, metadata: Mapping[str, str] | None = None) -> BlobInfo:
        """Store the stream's bytes (and metadata) under key, replacing any blob atomically."""
        ...

    def open(self, key: str, start: int = 0, length: int | None = None) -> BlobReader:
        """A readable stream of the blob's bytes from `start`; raises BlobNotFound."""
        ...

    def delete(self, key: str) -> None:
        """Remove the blob; a missing blob is not an error."""

    def check(self) -> None:
        """Raise StorageUnavailable unless the store can serve now."""

    def sweep(self, older_than: float) -> int:
        """Remove leftovers of writers that died mid-write; the number removed."""
        ...

    def blobs(self) -> Iterator[StoredBlob]:
        """Every blob with its metadata."""
        ...


# Producing results


@dataclass(frozen=True)
class FetchResult:
    content_type: str
    data: bytes
    attempts: int = 1
    path: str = ""  # the result is this file (the producer streams it into the store and removes it), not data


class Fetcher(Protocol):
    """One job kind, as the producer runs it (jobs/ adapts each installed kind)."""

    def fetch(self, query: Any) -> FetchResult:
        """The result for query, or raise FetchError."""
        ...


class JobQueue(Protocol):
    """Where new and lost entries are handed to a worker, each under its job kind's timeout and cap."""

    def draft(self, entry_id: str, job: JobSettings, tenant: str = "") -> JobDraft:
        """A job for the entry, in its kind's line, taking turns with other tenants' jobs, for the index to enqueue
        with the entry it creates."""
        ...

    def enqueue_again(self, entry_id: str, job: JobSettings, tenant: str = "") -> None:
        """A new job for an entry whose job was lost, in its tenant's turn."""

    def waiting(self, entry_ids: list[str]) -> set[str]:
        """Those of the entries whose job is queued or running."""
        ...

    def ahead_of(self, entry_id: str, job: JobSettings) -> int | None:
        """How many of the kind's jobs wait for a slot before the entry's; None when it waits for none."""
        ...

    def clean(self) -> None: ...

    def depth(self) -> int: ...

    def workers(self) -> int: ...


class CallbackRegistry(Protocol):
    """The callback URLs of settled entries, kept until handed to the CallbackQueue."""

    def due(self, settled_before: float, limit: int = 100) -> list[str]: ...

    def urls(self, entry_id: str) -> list[str]: ...

    def sent(self, entry_id: str) -> None: ...


class CallbackQueue(Protocol):
    """Where callbacks wait to be delivered (retried with backoff until a 2xx or their last attempt)."""

    def enqueue(self, url: str, body: bytes) -> None: ...


class JobDirectory(Protocol):
    """Which job kinds the live workers run: each worker says so while it lives."""

    def advertise(self, worker: str, kinds: Mapping[str, JobSettings], now: float, ttl: float) -> None:
        """This worker runs these kinds, for the next `ttl` seconds unless it says so again."""

    def withdraw(self, worker: str) -> None: ...

    def served(self, now: float) -> dict[str, JobSettings]:
        """The kinds every live worker runs (a job of any other could be taken by a worker that cannot run it)."""
        ...


# Who asks


class TokenAuthority(Protocol):
    def identify(self, token: str) -> Identity:
        """The token's owner; raises InvalidToken or AuthUnavailable."""
        ...


class SecretLookup(Protocol):
    def lookup(self, secret: str) -> str | None:
        """The name a secret (an API key) was issued to, or None."""
        ...


# The index


class EntryLookup(Protocol):
    """Image entries as they stand: what every caller of the index reads."""

    def get(self, entry_id: str) -> EntryRecord | None: ...

    def get_many(self, entry_ids: list[str]) -> list[EntryRecord | None]: ...

    def page(self, cursor: str | None, limit: int) -> EntryPage: ...

    def counts(self) -> dict[str, int]:
        """Entries by status (`<status>_count`) and the shared counters."""
        ...


class EntryRequests(EntryLookup, Protocol):
    """What requests do to the index (the image cache): each decided in one atomic step, so single flight holds."""

    def request(self, asked: EntryRequest) -> RequestOutcome: ...

    def touch(self, entry: EntryRecord, now: float) -> None: ...

    def recent_duration(self, job: str) -> float | None:
        """How long the kind's runs have taken lately, in seconds; None before its first."""
        ...


class EntryProduction(EntryLookup, Protocol):
    """What producing a result does (the producer): an entry moves pending -> active|error exactly once."""

    def progress(self, entry_id: str, progress: JobProgress) -> bool:
        """Note a running job's progress on its pending entry, for its waiters."""
        ...

    def claim(
        self, entry_id: str, lease: str, now: float, result_key: str, result_due: float
    ) -> EntryRecord | None: ...

    def complete(
        self,
        entry_id: str,
        *,
        now: float,
        content_type: str,
        size: int,
        etag: str,
        blob_key: str,
        counts: Mapping[str, float] | None = None,
    ) -> bool: ...

    def fail(
        self,
        entry_id: str,
        *,
        now: float,
        status: int,
        kind: str,
        message: str,
        until: float,
        counts: Mapping[str, float] | None = None,
        backoff: ErrorBackoff | None = None,
    ) -> bool: ...


class EntryUpkeep(EntryLookup, Protocol):
    """What keeping the index does (maintenance, recovery, eviction, purge, reindex)."""

    def delete(self, entry_id: str, now: float) -> bool: ...

    def delete_expired(self, entry_ids: list[str], now: float) -> list[object]:
        """Delete each entry (expired, evicted or purged), in one round trip; per entry, whether it existed or the
        error it met."""
        ...

    def tagged(self, tag: str, cursor: int, count: int) -> tuple[int, list[str]]:
        """A batch of the entries carrying the tag, and the cursor to go on from (0: done)."""
        ...

    def soften(self, entry_ids: list[str], now: float) -> int: ...

    def requeue(self, entry_id: str, now: float, check_pickup_at: float) -> tuple[str, str] | None:
        """The entry's job kind and tenant if it is to be enqueued again, else None."""
        ...

    def lost_by_leases(self, lease_ttl: float) -> list[str]: ...

    def release_strays(self, lease: str, producing: set[str]) -> list[str]: ...

    def due_ids(self, now: float, limit: int = 500) -> list[str]: ...

    def check_again_at(self, entry_ids: list[str], when: float) -> None: ...

    def expired_ids(self, now: float, skip: int = 0, limit: int = 500) -> list[str]: ...

    def adopt(self, entry: EntryRecord) -> bool: ...


class FileIndex(Protocol):
    """/v1 files; a replaced or removed file's blob goes to the garbage in the same atomic step."""

    def ensure(self, cache_id: str, token_id: str, now: float, placeholder_expiry: float) -> FileRecord: ...

    def get(self, cache_id: str, now: float) -> FileRecord | None: ...

    def replace(self, record: FileRecord, now: float, old_blob_due: float) -> Replaced: ...

    def touch(self, cache_id: str, now: float, expires_at: float) -> bool: ...

    def remove(self, cache_id: str, now: float, expired_before: float = -1) -> bool: ...

    def adopt(self, record: FileRecord) -> bool: ...

    def expired(self, now: float, skip: int = 0, limit: int = 500) -> list[str]: ...

    def count(self) -> int: ...


class BlobGarbage(Protocol):
    """Blob keys no record points at, each deleted once due."""

    def add(self, blob_key: str, due: float) -> None: ...

    def due(self, now: float, skip: int = 0, limit: int = 500) -> list[str]: ...

    def forget(self, *blob_keys: str) -> None: ...


class Replication(Protocol):
    """Makes the writes so far survive the loss of the index's primary, before they are acknowledged."""

    def confirm(self) -> None:
        """Return once the writes made so far are held by the replicas asked for (or once that wait timed out)."""
        ...


class Unreplicated:
    """Replication for an index without replicas to wait for (one Redis, or a test's): confirms at once."""

    def confirm(self) -> None:
        return None


class Recency(Protocol):
    """Stored results (images and files together) by last use, and the bytes they hold."""

    def used_bytes(self) -> int: ...

    def least_recent(self, skip: int) -> list[str]:
        """The least recently used result past `skip` (`i:<entry id>` or `f:<cache id>`), or none."""
        ...

    def forget(self, member: str) -> None: ...


class TenantAccounts(Protocol):
    """Each tenant's figures and its stored results by last use, kept exact by the index scripts as its entries
    are created, settled and removed (domain/tenants.py)."""

    def seen(self) -> list[str]:
        """Every tenant that has started a production (what eviction by tenant looks at)."""
        ...

    def stored_bytes(self, tenant: str) -> int: ...

    def least_recent(self, tenant: str, skip: int) -> list[str]:
        """The tenant's least recently used result past `skip` (`i:<entry id>`), or none."""
        ...

    def forget(self, tenant: str, member: str) -> None: ...

    def note_evicted(self, tenant: str, count: int) -> None: ...

    def figures(self, tenants: list[str]) -> list[dict[str, int]]:
        """Each tenant's counters as stored (pending, bytes, hits, misses, refused_<quota>, ...), in one round
        trip."""
        ...


class Counters(Protocol):
    """The shared counters (hits, upstream calls, ...), summed over every process on every host."""

    def add(self, increments: Mapping[str, float]) -> None: ...

    def increment(self, counter: str) -> None: ...

    def all(self) -> dict[str, float]: ...


class RecentFigures(Protocol):
    """A bounded record of the cluster's figures over the last hour (what /info plots)."""

    def record(self, sample: Mapping[str, float]) -> None: ...

    def recent(self) -> list[dict[str, float]]:
        """The samples kept, oldest first."""
        ...


class EntryWatch(Protocol):
    """One waiter's view of one entry: set when it settles (or should be looked at again)."""

    settled: EntryRecord | None  # the entry as its announcement carried it; None: read it to know

    def wait(self, timeout: float | None = None) -> bool: ...

    def clear(self) -> None: ...


class EntryGroupWatch(Protocol):
    """One waiter's view of many entries (an event stream's)."""

    def next(self, timeout: float) -> tuple[str, EntryRecord | None] | None:
        """The next entry with news and the entry as announced (None: read it to know); None after timeout."""
        ...


class EntryNotifier(Protocol):
    """Wakes this process's waiters the moment an entry leaves pending."""

    def add_listener(self, callback: Callable[[str | None], object]) -> None:
        """Every entry id that settles, changes or is deleted; None when news may have been missed."""

    def watching(self, entry_id: str) -> AbstractContextManager[EntryWatch]: ...

    def watching_all(self, entry_ids: list[str]) -> AbstractContextManager[EntryGroupWatch]: ...

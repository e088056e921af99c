"""EntryRecord: what the cache knows about one result, and how a request for it was answered."""

from __future__ import annotations

import enum
import json
import uuid
from dataclasses import dataclass

from imagecache.domain.progress import JobProgress
from imagecache.domain.tenants import NO_QUOTA, Quota

MAX_ENTRY_TAGS = 64  # what one entry carries, from every request that tagged it


class Status(str, enum.Enum):
    PENDING = "pending"
    ACTIVE = "active"
    ERROR = "error"


class Reuse(str, enum.Enum):
    """How a request was answered; each counts toward one /info statistic."""

    CREATED = "created"  # a miss: a new entry and one job
    JOINED = "joined"  # a dedupe: a fetch for the same query is already under way
    HIT = "hit"  # an active entry served the request
    ERROR = "error"  # a fresh error entry answered the request
    STALE = "stale"  # a result past the request's max_age (or purged softly) answered it, as the request allowed


RESULTS = "images/"  # where every entry's stored results are, in the blob store
_FOLDER_DIGITS = 2  # an entry's results are in the folder its id's first hex digits name, one of 256
RESULT_FOLDERS = tuple(f"{RESULTS}{first:0{_FOLDER_DIGITS}x}" for first in range(16**_FOLDER_DIGITS))


@dataclass(frozen=True)
class EntryRecord:
    id: str
    status: Status
    created_at: float
    expires_at: float
    query: str
    content_type: str = ""
    size: int = 0
    etag: str = ""
    started_at: float = 0.0
    completed_at: float = 0.0
    attempts: int = 0
    error_status: int = 0
    error_type: str = ""
    error_message: str = ""
    blob_key: str = ""  # where the result is (an active entry's own attempt key)
    job: str = ""  # its job kind
    tags: tuple[str, ...] = ()  # what POST /purge may remove it by
    purged_at: float = 0.0  # when a soft purge marked it stale (0: never)
    progress: JobProgress | None = None  # what its running job last reported, while pending
    tenant: str | None = None  # who started it, where tenants are accounted (domain/tenants.py); None: nobody

    @staticmethod
    def result_prefix(entry_id: str) -> str:
        """What every stored result of this entry is named after: its attempts' keys are this, a dot and their
        own suffix."""
        return f"{RESULTS}{entry_id[:_FOLDER_DIGITS]}/{entry_id}"

    @classmethod
    def attempt_key(cls, entry_id: str) -> str:
        """A key of one attempt's own: two workers producing one entry never write over each other's result."""
        return f"{cls.result_prefix(entry_id)}.{uuid.uuid4().hex[:12]}"

    @classmethod
    def is_result_key(cls, entry_id: str, key: str) -> bool:
        return key.startswith(cls.result_prefix(entry_id) + ".")

    @classmethod
    def result_suffix(cls, entry_id: str, key: str) -> str:
        """What the index keeps of a result key: its attempt's own part. The rest is the entry's id, which the
        index's key holds already, and leaving it out keeps the entry's hash a compact listpack in Redis."""
        if not cls.is_result_key(entry_id, key):
            raise ValueError(f"{key!r} is not a result key of entry {entry_id}")
        return key[len(cls.result_prefix(entry_id)) + 1 :]

    @classmethod
    def from_fields(cls, entry_id: str, fields: dict[str, str]) -> EntryRecord:
        """The entry from its index hash, which holds neither its id nor the entry's part of its result key."""
        result = fields.get("result")
        return cls(
            id=entry_id,
            status=Status(fields["status"]),
            created_at=float(fields["created_at"]),
            expires_at=float(fields["expires_at"]),
            query=fields.get("query", ""),
            content_type=fields.get("content_type", ""),
            size=int(fields.get("size", 0)),
            etag=fields.get("etag", ""),
            started_at=float(fields.get("started_at", 0)),
            completed_at=float(fields.get("completed_at", 0)),
            attempts=int(fields.get("attempts", 0)),
            error_status=int(fields.get("error_status", 0)),
            error_type=fields.get("error_type", ""),
            error_message=fields.get("error_message", ""),
            blob_key=f"{cls.result_prefix(entry_id)}.{result}" if result else "",
            job=fields["job"],
            tags=tuple(json.loads(fields["tags"])) if fields.get("tags") else (),
            purged_at=float(fields.get("purged_at", 0)),
            progress=JobProgress(float(fields["progress"]), fields.get("progress_message", ""))
            if "progress" in fields
            else None,
            tenant=fields.get("tenant"),
        )

    def adopted_fields(self) -> dict[str, str | int]:
        """The index hash of an active entry rebuilt from its blob (from_fields reads it back): one attempt, and no
        tenant, tags or purge mark, which its blob does not keep."""
        return {
            "status": Status.ACTIVE.value,
            "created_at": repr(self.created_at),
            "expires_at": repr(self.expires_at),
            "query": self.query,
            "content_type": self.content_type,
            "size": self.size,
            "etag": self.etag,
            "completed_at": repr(self.completed_at),
            "attempts": 1,
            "result": self.result_suffix(self.id, self.blob_key),
            "job": self.job,
        }

    def notice(self) -> dict[str, object]:
        """What an event stream and a callback say of it: {id, status, size, type}, and an error's status and
        message."""
        fields: dict[str, object] = {
            "id": self.id,
            "status": self.status.value,
            "size": self.size,
            "type": self.content_type,
        }
        if self.status is Status.ERROR:
            fields["error"] = {"status": self.error_status, "msg": self.error_message}
        return {**fields, **self._marks()}

    def _marks(self) -> dict[str, object]:
        """Its tags and soft-purge mark, where it has them: what other requests may change while it lives."""
        marks: dict[str, object] = {}
        if self.tags:
            marks["tags"] = list(self.tags)
        if self.purged_at:
            marks["purged_at"] = self.purged_at
        return marks


@dataclass(frozen=True)
class JobDraft:
    """A new entry's job, made ready before the index decides whether the request starts one, in the queue's own
    terms (the keys it writes, the values it needs): the index enqueues it in the step that creates the entry, so
    a POST costs one round trip and no pending entry is ever without its job."""

    keys: tuple[str, ...]
    args: tuple[str | bytes | int | float, ...]


@dataclass(frozen=True)
class EntryRequest:
    """One request for a query's entry, as the index decides it in one step: join the live entry, create `new_id`
    (its job's pickup checked at `check_pickup_at`), or answer with a stale result where the stale options allow;
    the tags go to the entries that answer and start, the callback URL to the answering entry while pending."""

    digest: str
    new_id: str
    now: float
    expires_at: float
    query: str  # canonical JSON
    job: str
    check_pickup_at: float
    max_age: int | None = None
    refresh: bool = False
    stale_while_revalidate: int | None = None
    stale_if_error: int | None = None
    tags: tuple[str, ...] = ()
    callback_url: str = ""
    tenant: str | None = None  # who asks, where tenants are accounted; None: nobody
    quota: Quota = NO_QUOTA  # what a new production of theirs must fit in
    draft: JobDraft | None = None  # `new_id`'s job, enqueued if the request creates that entry; None: no job


@dataclass(frozen=True)
class RequestOutcome:
    """What a request got: the entry and how it was reused, and the id of an entry created by it (the request's
    own entry, or the background refresh of a stale one), whose job the request's draft enqueued."""

    entry: EntryRecord
    reuse: Reuse
    started: str = ""


@dataclass(frozen=True)
class EntryPage:
    """A page of entries, the last to expire first, and the cursor of the next one (None at the end)."""

    entries: list[EntryRecord]
    next_cursor: str | None

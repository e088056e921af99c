"""What the server answers: every JSON answer and error body, built through its model."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from imagecache.domain.entry_record import EntryRecord, Reuse, Status
from imagecache.domain.estimates import Estimate
from imagecache.domain.file_record import CACHE_ID_PATTERN
from imagecache.domain.job_settings import JobSettings

EntryStatus = Literal["pending", "active", "error"]


class Answer(BaseModel):
    model_config = ConfigDict(frozen=True)

    def json_body(self) -> dict[str, Any]:
        """The answer's JSON: a member that has no value here is left out, never sent as null."""
        return self.model_dump(exclude_none=True)


class KentikError(Answer):
    """Every error on the Kentik-style routes, in the Kentik Image Cache's shape."""

    type: str = Field(description="`invalid request`, `error`, `job error`, ...")
    loc: Any = Field(description="the field, id or path the error is about")
    msg: str


class FileError(Answer):
    """Every error on /v1, in KBase CachingService's shape."""

    status: Literal["error"]
    error: str


class Created(Answer):
    """POST /requests: the entry that serves the query (`stale`: an older result answers while a refresh runs)."""

    id: str = Field(description="sha256(query)_expiry")
    status: EntryStatus | Literal["stale"]
    expires_at: float
    signed_url: str | None = Field(
        None, description="with `signed_url_ttl`: /image/<id>?expires=<unix>&sig=<hmac>, served without an API key"
    )

    @classmethod
    def of(cls, entry: EntryRecord, reuse: Reuse, signed_url: str | None = None) -> Created:
        status: EntryStatus | Literal["stale"] = "stale" if reuse is Reuse.STALE else entry.status.value
        return cls(id=entry.id, status=status, expires_at=entry.expires_at, signed_url=signed_url)


class EntryFailure(Answer):
    status: int = Field(description="the HTTP status GET /image answers with")
    type: str
    msg: str


class EntryProgress(Answer):
    fraction: float = Field(description="how far along, from 0 to 1")
    message: str = Field(description="what it is doing, in a few words")


class EntryView(Answer):
    """GET /requests/{entry_id}: everything but the query and internals."""

    id: str
    status: EntryStatus
    created_at: float
    expires_at: float
    job: str = Field(description="the job kind that produces it")
    tags: list[str] | None = None
    purged_at: float | None = Field(None, description="when a soft purge marked it stale")
    type: str | None = Field(None, description="the result's content type, as /info and /events name it")
    content_type: str | None = Field(None, description="the same as `type`, under the name it first had")
    size: int | None = None
    etag: str | None = None
    completed_at: float | None = None
    error: EntryFailure | None = None
    queue_position: int | None = Field(
        None,
        description="while pending: 0 once it has a slot (queued to run, or running), n: the n-th of its kind "
        "in line for one",
    )
    progress: EntryProgress | None = Field(None, description="while pending: what its running job reported last")
    eta_seconds: float | None = Field(
        None,
        description="while pending: when it should be done, from the work ahead of it and how long its kind's "
        "runs take lately (absent before any was timed)",
    )

    @classmethod
    def of(cls, entry: EntryRecord, estimate: Estimate | None = None) -> EntryView:
        done = entry.status is Status.ACTIVE
        failure = (
            EntryFailure(status=entry.error_status, type=entry.error_type, msg=entry.error_message)
            if entry.status is Status.ERROR
            else None
        )
        return cls(
            id=entry.id,
            status=entry.status.value,
            created_at=entry.created_at,
            expires_at=entry.expires_at,
            job=entry.job,
            tags=list(entry.tags) or None,
            purged_at=entry.purged_at or None,
            type=entry.content_type if done else None,
            content_type=entry.content_type if done else None,
            size=entry.size if done else None,
            etag=entry.etag if done else None,
            completed_at=entry.completed_at if done else None,
            error=failure,
            queue_position=estimate.queue_position if estimate else None,
            eta_seconds=estimate.eta_seconds if estimate else None,
            progress=EntryProgress(fraction=entry.progress.fraction, message=entry.progress.message)
            if entry.progress and entry.status is Status.PENDING
            else None,
        )


class Purged(Answer):
    purged: int = Field(description="how many entries were removed (or marked stale)")
    soft: bool


class Jobs(Answer):
    """GET /jobs."""

    default: str = Field(description="the kind a request that names none gets")
    jobs: list[JobSettings] = Field(
        description="each kind served now: timeout (seconds a run may take, every attempt included), retries "
        "(transient failures tried again within a run), concurrency (runs at once across every worker host), "
        "default_ttl (seconds a result lives when the request names no ttl)"
    )


class InfoEntry(Answer):
    """An entry as /info lists it: the Kentik Image Cache's fields (id, type, size, expiration) and numbers."""

    id: str
    status: EntryStatus
    type: str = Field(description="the content type; `request` while pending, `error` for an error")
    size: int
    expiration: str = Field(description="ISO 8601")
    expires_at: float
    remaining: int = Field(description="seconds it still lives")


class TenantFigures(Answer):
    """One tenant TENANTS names: its quotas and what it has asked for, started and kept."""

    name: str
    quotas: dict[str, int] = Field(description="the bounds set: fresh_per_minute, pending, stored_bytes")
    pending: int = Field(
        description="entries it started that are still pending, and runs going on whose entries were deleted"
    )
    stored_bytes: int = Field(description="bytes of the results it started that are kept")
    evicted: int = Field(description="of its results, evicted to keep within its stored_bytes quota")
    requests: dict[str, int] = Field(
        description="its requests by how each was answered: hits, misses, refreshes, dedupes (joined a fetch under "
        "way, another tenant's included), stale_hits, error_hits"
    )
    refused: dict[str, int] = Field(description="its requests refused with 429, by quota")


class Info(Answer):
    """GET /info (JSON): the cluster's figures (every counter of /metrics' summary) and a page of entries."""

    model_config = ConfigDict(extra="allow")

    active_count: int
    pending_count: int
    error_count: int
    renderer: Literal["kentik", "local"] = Field(description="what draws charts: Kentik's API or the local kind")
    active_entries: list[InfoEntry]
    pending_entries: list[InfoEntry]
    error_entries: list[InfoEntry]
    tenants: list[TenantFigures] = Field(description="each tenant TENANTS names")
    next_cursor: str | None = Field(description="the cursor of the next page; null on the last")

    def json_body(self) -> dict[str, Any]:
        return self.model_dump()  # next_cursor's null says "the last page"


class Health(Answer):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(description="each dependency: ok, or what is wrong with it")
    down: list[str]


class Live(Answer):
    status: Literal["ok"]


class Versions(Answer):
    versions: dict[str, str]
    kentik: list[str]


class Routes(Answer):
    routes: dict[str, dict[str, str]]


class FileMetadata(Answer):
    filename: str
    token_id: str
    expiration: str = Field(description="unix seconds, as text (KBase's shape)")


class CacheId(Answer):
    cache_id: str = Field(pattern=CACHE_ID_PATTERN)
    status: Literal["ok"]
    metadata: FileMetadata


class FileStored(Answer):
    status: Literal["ok"]
    sha256: str
    size: int
    filename: str


class FileOk(Answer):
    status: Literal["ok"]

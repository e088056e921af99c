"""ImageCache: the domain rules of the Kentik-style cache.

Ids, single flight, expiry and error reuse live here; HTTP lives in the
resources and job execution in the workers, which both call in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from imagecache.domain.entry_record import EntryPage, EntryRecord, EntryRequest, RequestOutcome, Reuse, Status
from imagecache.domain.errors import InvalidCallback, QueryTooLarge
from imagecache.domain.estimates import Estimate, estimate
from imagecache.domain.job_settings import JobSettings
from imagecache.domain.ports import (
    BlobReader,
    BlobStore,
    EntryNotifier,
    EntryRequests,
    JobQueue,
)
from imagecache.domain.progress import JobProgress
from imagecache.domain.tenants import Tenants
from imagecache.services.callbacks import CallbackDispatch
from imagecache.services.followups import Followups
from imagecache.services.job_kinds import JobKinds
from imagecache.services.settled import SettledEntries
from imagecache_client.ids import EntryId, canonical_digest, canonical_json

log = logging.getLogger(__name__)

RECHECK_SECONDS = 5.0
TOUCH_INTERVAL = 60.0


@dataclass(frozen=True)
class Ask:
    """What a request asks beyond its query. `ttl`: its result's life (default: the kind's); `max_age`: reuse a
    result at most this old; `refresh`: produce anew; `job`: the kind (default: the deployment's). The stale
    options are RFC 5861's, in seconds past max_age: a stale result answers while one background refresh runs,
    or instead of a refresh that failed."""

    ttl: int | None = None
    max_age: int | None = None
    refresh: bool = False
    job: str | None = None
    stale_while_revalidate: int | None = None
    stale_if_error: int | None = None
    tags: tuple[str, ...] = ()  # given to the entry that answers (and to the one the request starts)
    callback_url: str = ""  # POSTed to when the entry that answers settles (at once if it has)
    tenant: str = ""  # who asks (its API key's name; '' without keys): tenants' jobs take turns in line


PLAIN = Ask()


@dataclass(frozen=True)
class Progressed:
    """News of an entry still pending: what its job reported last."""

    entry_id: str
    progress: JobProgress


@dataclass(frozen=True)
class Settling:
    """What a wait for an entry found: the entry (None: unknown, malformed or expired) and whether it was still
    pending at the first look, so that the request waited for a production under way."""

    entry: EntryRecord | None
    waited: bool = False


@dataclass(frozen=True)
class Limits:
    max_ttl: int
    error_ttl: int
    pickup_grace: float  # how long a new entry's job may wait before recovery checks that it still exists
    query_max_bytes: int  # the largest canonical query, in bytes, an entry keeps (QUERY_MAX_BYTES)
    tenants: Tenants = field(default_factory=Tenants)  # who may start how much (TENANTS)


class ImageCache:
    def __init__(
        self,
        entries: EntryRequests,
        blobs: BlobStore,
        jobs: JobQueue,
        notifier: EntryNotifier,
        kinds: JobKinds,
        limits: Limits,
        followups: Followups | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        followups = followups or Followups()
        self._entries = entries
        self._replication = followups.replication
        self._blobs = blobs
        self._jobs = jobs
        self._notifier = notifier
        self._kinds = kinds
        self._callbacks = followups.callbacks
        self.limits = limits
        self._clock = clock
        self._settled = SettledEntries()
        notifier.add_listener(self._settled.forget)

    def request(self, query: Any, ask: Ask = PLAIN) -> RequestOutcome:
        """The entry serving query with the job kind named (or the default): an existing one when reusable, else
        a new pending one; or, where `stale` allows, a result past max_age while one background refresh runs
        (single flight holds for refreshes too: one script decides). Raises UnknownJob for a kind no live
        worker runs, FetchError for a query its kind refuses, QueryTooLarge past QUERY_MAX_BYTES, TooManyTags when
        the tags would take an entry past its cap, QuotaExceeded when a production it would start has no room in its
        tenant's quotas. The default kind's ids are the query's digest alone."""
        kind = self._kinds.resolve(ask.job)
        canonical = canonical_json(query)
        encoded = canonical.encode()
        if len(encoded) > self.limits.query_max_bytes:
            raise QueryTooLarge(len(encoded), self.limits.query_max_bytes)
        self._kinds.validate(kind.name, query)
        if ask.callback_url:
            self._callbacks_or_refuse().check(ask.callback_url)
        now = self._clock()
        digest = canonical_digest(encoded, None if kind.name == self._kinds.default else kind.name)
        quota = self.limits.tenants.quota(ask.tenant)
        expires_at = round(now + (ask.ttl or min(kind.default_ttl, self.limits.max_ttl)), 6)
        new_id = str(EntryId(digest, expires_at))
        outcome = self._entries.request(
            EntryRequest(
                digest=digest,
                new_id=new_id,
                now=now,
                expires_at=expires_at,
                query=canonical,
                job=kind.name,
                check_pickup_at=now + self.limits.pickup_grace,
                max_age=ask.max_age,
                refresh=ask.refresh,
                stale_while_revalidate=ask.stale_while_revalidate,
                stale_if_error=ask.stale_if_error,
                tags=ask.tags,
                callback_url=ask.callback_url,
                tenant=ask.tenant if ask.tenant or quota.named() else None,
                quota=quota,
                draft=self._jobs.draft(new_id, kind, ask.tenant),
            )
        )
        if outcome.started:
            why = "refreshing a stale result" if outcome.reuse is Reuse.STALE else "new"
            log.info("request %s: %s, %s job enqueued", outcome.started, why, kind.name)
        if outcome.started or outcome.entry.status is Status.PENDING:  # a promised result outlives a failover
            self._replication.confirm()
        if ask.callback_url and outcome.entry.status is not Status.PENDING:
            self._callbacks_or_refuse().send_now(outcome.entry, ask.callback_url)
        return outcome

    def _callbacks_or_refuse(self) -> CallbackDispatch:
        if self._callbacks is None:
            raise InvalidCallback("callbacks are off here (CALLBACK_ALLOWED_HOSTS is empty)")
        return self._callbacks

    def job_kinds(self) -> list[JobSettings]:
        """The kinds a request may name now (what GET /jobs lists)."""
        return sorted(self._kinds.served().values(), key=lambda kind: kind.name)

    @property
    def default_job(self) -> str:
        return self._kinds.default

    def lookup(self, entry_id: str) -> EntryRecord | None:
        """The live entry for a client-supplied id; None if malformed, unknown or expired."""
        if not self._live_id(entry_id):
            return None
        entry = self._settled.get(entry_id) or self._entries.get(entry_id)
        if entry is not None:
            self._settled.remember(entry)
        return entry

    def remembered(self, entry_id: str) -> EntryRecord | None:
        """The entry if this process knows it settled and live, without a round trip; else None."""
        return self._settled.get(entry_id) if self._live_id(entry_id) else None

    def wait_settled(self, entry_id: str, timeout: float) -> Settling:
        """The live entry for a client-supplied id once it leaves pending, or still pending after timeout; None if
        malformed, unknown or expired. Watching starts before the first look, so a result that lands in between
        is never missed; one waited for arrives with its announcement: one round trip either way."""
        if not self._live_id(entry_id):
            return Settling(None)
        known = self._settled.get(entry_id)
        if known is not None:
            return Settling(known)
        deadline = self._clock() + timeout
        with self._notifier.watching(entry_id) as watch:
            current = self._entries.get(entry_id)
            waited = current is not None and current.status is Status.PENDING
            while True:
                if current is not None:
                    self._settled.remember(current)
                remaining = deadline - self._clock()
                if current is None or current.status is not Status.PENDING or remaining <= 0:
                    return Settling(current, waited)
                woken = watch.wait(min(remaining, RECHECK_SECONDS))
                current = watch.settled if woken and watch.settled else self._entries.get(entry_id)
                watch.clear()

    def settle_events(
        self, entry_ids: list[str], timeout: float, tick: float
    ) -> Iterator[tuple[str, EntryRecord | None] | Progressed | None]:
        """Each entry, once: as soon as it has left pending (None: unknown, malformed or expired), or as it stands
        when `timeout` runs out; meanwhile each progress its job reports (Progressed); a None between them every
        `tick` seconds without news (an event stream's keep-alive). Everything arrives on this process's one
        pub/sub connection: one round trip to start, none per entry that settles with its announcement."""
        live = [entry_id for entry_id in entry_ids if self._live_id(entry_id)]
        for entry_id in entry_ids:
            if entry_id not in live:
                yield entry_id, None
        deadline = self._clock() + timeout
        with self._notifier.watching_all(live) as group:
            waiting: dict[str, EntryRecord] = {}
            for entry_id, entry in zip(live, self._entries.get_many(live)):
                if entry is not None and entry.status is Status.PENDING:
                    waiting[entry_id] = entry
                else:
                    yield entry_id, entry
            while waiting and (remaining := deadline - self._clock()) > 0:
                news = group.next(min(remaining, tick))
                if news is None:
                    yield None
                    continue
                entry_id, settled = news
                entry = settled or self._entries.get(entry_id)
                if entry_id in waiting and (entry is None or entry.status is not Status.PENDING):
                    del waiting[entry_id]
                    yield entry_id, entry
                elif entry is not None and (progress := _new_progress(waiting.get(entry_id), entry)):
                    waiting[entry_id] = entry
                    yield Progressed(entry_id, progress)
            yield from waiting.items()

    def estimate(self, entry: EntryRecord) -> Estimate | None:
        """Where a pending entry stands in its kind's line, and when it should be done; None once settled."""
        if entry.status is not Status.PENDING:
            return None
        kind = self._kinds.settings_for(entry.job)
        running_for = self._clock() - entry.started_at if entry.started_at else 0.0
        ahead = self._jobs.ahead_of(entry.id, kind)
        return estimate(ahead, kind.concurrency, self._entries.recent_duration(kind.name), running_for)

    def _live_id(self, entry_id: str) -> bool:
        """Whether a client-supplied id is well formed and not yet past the expiry it carries."""
        parsed = EntryId.parse(entry_id)
        return parsed is not None and parsed.expires_at > self._clock()

    def record_use(self, entry: EntryRecord) -> None:
        """Keep a served result recent for eviction (coarsely: once a minute per process; a result is recent when
        it is stored)."""
        now = self._clock()
        if self._settled.touch_due(entry.id, now, TOUCH_INTERVAL, last=entry.completed_at):
            self._entries.touch(entry, now)

    def open(self, entry: EntryRecord, start: int = 0, length: int | None = None) -> BlobReader:
        return self._blobs.open(entry.blob_key, start, length)

    def page(self, cursor: str | None, limit: int) -> EntryPage:
        """Entries by expiry, the last to expire first, from after `cursor` (what /info lists, a page at a time)."""
        return self._entries.page(cursor, limit)

    def remaining_life(self, entry: EntryRecord) -> int:
        return max(0, int(entry.expires_at - self._clock()))


def _new_progress(before: EntryRecord | None, now: EntryRecord) -> JobProgress | None:
    """What a still pending entry that is waited for has newly reported, if anything."""
    return now.progress if before is not None and now.progress != before.progress else None

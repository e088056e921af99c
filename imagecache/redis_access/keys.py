"""RedisKeys: every Redis key and channel the cache uses, spelled in one place, under one prefix.

Per entry:  entry:<id> (hash; neither its id nor the entry's part of its result key, so it stays a listpack),
            query:<digest> (the id serving a query), last:<digest> (the query's last good result while a newer
            entry replaces it); both hold the id's rest after '<digest>_', its expiry; failures:<digest> (the
            query's consecutive transient failures, until a success or until it lapses)
Index:      expiry (sorted set: every entry by when it expires; /info pages through it too), lru (stored
            results by last use: i:<id>, f:<cache id>)
Files:      file:<cache id> (hash), files:expiry (sorted set)
Shared:     stats (hash of counters, <status>_count among them), gc (blob keys to delete, by when), done
            (pub/sub channel), durations (hash: job kind -> how long its runs take lately)
Recovery:   running (hash: entry -> lease), due (sorted set: pickup checks), lease:<id>, lease_missing
Tags:       tag:<tag> (a set of the entries carrying it)
Callbacks:  callbacks:<id> (the URLs to call when it settles), callbacks_due (settled entries whose callbacks
            are yet to be handed to the callback queue, by when they settled)
Tenants:    tenant:<name> (hash: its figures, pending entries and stored bytes among them, and its rate's `tat`),
            tenant_lru:<name> (its stored results by last use), tenants (the names seen: what eviction looks at),
            tenant_held:<name> and held:<id> (its runs going on whose entries were deleted, until they end)
Jobs:       jobs (hash: worker -> the job kinds it runs, until when), fair:<kind> (hash: each tenant's last tag in
            the kind's line, so tenants take turns)
Elsewhere:  auth:<token hash> (KBase answers), maintenance (the pass lock); RQ's queue and each job kind's
            upstream limit take the prefix without its colon: <prefix>-produce, <prefix>-callbacks,
            <prefix>-upstream:<kind>.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RedisKeys:
    prefix: str

    def entry(self, entry_id: str) -> str:
        return f"{self.prefix}entry:{entry_id}"

    def query(self, digest: str) -> str:
        return f"{self.prefix}query:{digest}"

    @property
    def callbacks_prefix(self) -> str:
        return self._named("callbacks:")

    @property
    def callbacks_due(self) -> str:
        return self._named("callbacks_due")

    @property
    def tag_prefix(self) -> str:
        return self._named("tag:")

    def last_good(self, digest: str) -> str:
        return f"{self.prefix}last:{digest}"

    def failures_of(self, entry_id: str) -> str:
        """The consecutive failures of the entry's query (its id's digest): how long its next error answers."""
        return f"{self.prefix}failures:{entry_id.partition('_')[0]}"

    def file(self, cache_id: str) -> str:
        return f"{self.prefix}file:{cache_id}"

    def _named(self, name: str) -> str:
        return self.prefix + name

    @property
    def tenant_prefix(self) -> str:
        return self._named("tenant:")

    @property
    def tenant_lru_prefix(self) -> str:
        return self._named("tenant_lru:")

    @property
    def tenant_held_prefix(self) -> str:
        return self._named("tenant_held:")

    @property
    def held_prefix(self) -> str:
        return self._named("held:")

    def held(self, entry_id: str) -> str:
        return self.held_prefix + entry_id

    @property
    def tenants(self) -> str:
        return self._named("tenants")

    @property
    def expiry(self) -> str:
        return self._named("expiry")

    @property
    def lru(self) -> str:
        return self._named("lru")

    @property
    def durations(self) -> str:
        return self._named("durations")

    @property
    def stats(self) -> str:
        return self._named("stats")

    @property
    def minutes(self) -> str:
        """The last hour's figures, one sample a maintenance pass, newest first (a list of at most 60)."""
        return self._named("minutes")

    @property
    def gc(self) -> str:
        return self._named("gc")

    @property
    def done(self) -> str:
        return self._named("done")

    @property
    def files_expiry(self) -> str:
        return self._named("files:expiry")

    @property
    def running(self) -> str:
        return self._named("running")

    @property
    def due(self) -> str:
        return self._named("due")

    @property
    def lease_prefix(self) -> str:
        return self._named("lease:")

    @property
    def lease_missing(self) -> str:
        return self._named("lease_missing")

    @property
    def auth_prefix(self) -> str:
        return self._named("auth:")

    @property
    def maintenance_lock(self) -> str:
        return self._named("maintenance")

    @property
    def rq_queue(self) -> str:
        return self.prefix.rstrip(":") + "-produce"

    @property
    def rq_callbacks(self) -> str:
        return self.prefix.rstrip(":") + "-callbacks"

    @property
    def jobs(self) -> str:
        return self._named("jobs")

    def fair_share(self, job: str) -> str:
        """The tags that make a job kind's line take turns across tenants (queueing/lua/enqueue.lua)."""
        return f"{self.prefix}fair:{job}"

    def rq_upstream_limit(self, job: str) -> str:
        return f"{self.prefix.rstrip(':')}-upstream:{job}"

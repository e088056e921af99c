"""JobKinds: which job kind a request gets, whether a live worker runs it, and under which settings.

A request names a kind or gets the deployment's default. A named kind is
accepted only if every live worker advertises it (JobDirectory), so a kind
installed on a web host but on no worker is a 400 at POST, never an entry left
pending. The default kind is always accepted: with its workers restarting,
requests queue rather than fail. What the
workers advertise is read at most once a second per process, and again at once
for a name it does not list (a worker that just came up).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

from imagecache.domain.errors import UnknownJob
from imagecache.domain.job_settings import JobSettings
from imagecache.domain.ports import JobDirectory

SERVED_FOR = 1.0  # seconds a read of what the workers run is reused


class JobKinds:
    def __init__(
        self,
        directory: JobDirectory,
        default: str,
        local: Mapping[str, JobSettings],
        validators: Mapping[str, Callable[[Any], None]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._directory = directory
        self.default = default
        self._local = local
        self._validators = validators
        self._clock = clock
        self._served: dict[str, JobSettings] = {}
        self._read_at = -SERVED_FOR

    def resolve(self, name: str | None) -> JobSettings:
        """The settings of the named kind (or the default), if a live worker runs it; raises UnknownJob."""
        name = name or self.default
        served = self.served()
        if name not in served and name != self.default:
            served = self.served(fresh=True)
        if name in served or name == self.default:
            return self.settings_for(name)
        raise UnknownJob(name, sorted(served))

    def validate(self, name: str, query: Any) -> None:
        """The kind's own check of a query, where this host has the kind installed; raises FetchError."""
        check = self._validators.get(name)
        if check is not None:
            check(query)

    def served(self, fresh: bool = False) -> dict[str, JobSettings]:
        """The kinds a request may name: what the live workers run, and the default."""
        now = self._clock()
        if fresh or now - self._read_at >= SERVED_FOR:
            served = self._directory.served(now)
            if self.default not in served and self.default in self._local:
                served[self.default] = self._local[self.default]
            self._served, self._read_at = served, now
        return self._served

    def settings_for(self, name: str) -> JobSettings:
        """A kind's settings for work already accepted (lost work is enqueued again whether or not a worker runs
        it now): the workers' (read again once they are SERVED_FOR old), else this host's, else the default kind's
        under its name."""
        known = self.served().get(name) or self._local.get(name)
        if known is not None:
            return known
        return dataclasses.replace(self._local[self.default], name=name)

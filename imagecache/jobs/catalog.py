"""JobCatalog: the job kinds installed in this environment, from the `imagecache.jobs` entry points.

Every process loads it: workers run the kinds and advertise them, web hosts
validate queries with them and take their settings. A package whose entry
point fails to load is logged and left out; it never stops the others.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from imagecache.config import Config
from imagecache.domain.job_settings import JOB_NAME_PATTERN, JobSettings
from imagecache.domain.ports import Fetcher
from imagecache.jobs._kind import JobKind
from imagecache.jobs._runner import RetryingJob

log = logging.getLogger(__name__)

GROUP = "imagecache.jobs"
NAME = re.compile(JOB_NAME_PATTERN)


@dataclass(frozen=True)
class JobCatalog:
    kinds: Mapping[str, JobKind]
    default: str  # the kind a request that names none gets (Config.default_job)
    default_ttl: int

    @classmethod
    def load(cls, config: Config) -> JobCatalog:
        kinds: dict[str, JobKind] = {}
        for point in entry_points(group=GROUP):
            if point.name in config.excluded_jobs:
                continue
            kind = _load(point, config)
            if kind is not None:
                kinds[point.name] = kind
        return cls(kinds, config.default_job, config.default_ttl)

    def settings(self) -> dict[str, JobSettings]:
        return {name: self._settings(name, kind) for name, kind in self.kinds.items()}

    def runners(self) -> dict[str, Fetcher]:
        return {name: RetryingJob(name, kind) for name, kind in self.kinds.items()}

    def validators(self) -> dict[str, Callable[[Any], None]]:
        return {name: kind.validate for name, kind in self.kinds.items() if kind.validate is not None}

    def _settings(self, name: str, kind: JobKind) -> JobSettings:
        return JobSettings(
            name=name,
            timeout=kind.timeout,
            retries=kind.retries,
            concurrency=kind.concurrency,
            default_ttl=kind.default_ttl or self.default_ttl,
            description=kind.description,
        )


def _load(point: EntryPoint, config: Config) -> JobKind | None:
    if not NAME.fullmatch(point.name):
        log.error("jobs: %r (%s) is not a job name: lowercase letters, digits, - and _", point.name, point.value)
        return None
    try:
        target = point.load()
        kind = target if isinstance(target, JobKind) or not callable(target) else target(config)
    except Exception:
        log.exception("jobs: %s (%s) failed to load; left out", point.name, point.value)
        return None
    if kind is not None and not isinstance(kind, JobKind):
        log.error("jobs: %s (%s) gave %s, not a JobKind; left out", point.name, point.value, type(kind).__name__)
        return None
    return kind

"""Job kinds: what imagecache can compute or fetch, and the API a job package writes against.

A job kind is a `JobKind` registered under the entry-point group `imagecache.jobs`
(the built-in ones are `kentik` and `chart`); the object named is a JobKind, or a
callable taking the server's configuration and returning one (or None where the
kind cannot run, as `kentik` without credentials). Its `run` gets the query and
returns a `JobResult`; it raises `JobError` to end without one. While it runs it
may call `report_progress(fraction, message)`: those waiting see it.
"""

from imagecache.domain.progress import report_progress
from imagecache.jobs._kind import JobError, JobKind, JobResult
from imagecache.jobs._runner import run_timeout

__all__ = ["JobError", "JobKind", "JobResult", "report_progress", "run_timeout"]

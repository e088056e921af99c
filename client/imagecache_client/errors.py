"""What can go wrong when talking to imagecache, as types a caller can catch.

Each error carries the exit code the command-line client uses for it, so
scripts can tell "not there" from "upstream broke" from "service down".
"""

from __future__ import annotations


class ClientError(Exception):
    """Any failure of a client call: the server refused it or could not be asked."""

    exit_code = 1

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class Refused(ClientError):
    """The server refused the call as made (bad input, bad token or key, too large)."""


class OverQuota(Refused):
    """The tenant (the API key's name) has no room left in a quota for a new result now (429): `quota` names it
    (`fresh_per_minute` or `pending`), `retry_after` says in how many seconds to ask again."""

    def __init__(self, message: str, quota: str, retry_after: int) -> None:
        super().__init__(message, 429)
        self.quota = quota
        self.retry_after = retry_after


class AlreadyExists(Refused):
    """A write that may only create met an object already there (a published version is never written over)."""


class BadManifest(ClientError):
    """The versioned cache's manifest is not one (an input file the command line cannot use: exit code 2)."""

    exit_code = 2


class NotFound(ClientError):
    """No such image or cache id (unknown, deleted or expired)."""

    exit_code = 3


class UpstreamError(ClientError):
    """The result could not be produced: the upstream's own status and message."""

    exit_code = 4

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"upstream error {status}: {message}", status)
        self.message = message


class Unavailable(ClientError):
    """The service cannot be reached, or says it cannot serve now (503)."""

    exit_code = 5


class Timeout(ClientError):
    """Gave up waiting: the result was not ready, or the server did not answer, in time."""

    exit_code = 5


class NoLocalCopy(Unavailable):
    """The service is unreachable and the local cache holds no usable copy."""

"""HTTP resources of KBase CachingService's /v1 API (paths, statuses and messages kept)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import falcon
from pydantic import ValidationError

from imagecache.domain.errors import (
    AuthUnavailable,
    CacheForbidden,
    CacheNotFound,
    CannotFit,
    ChecksumMismatch,
    InvalidToken,
    SourceInterrupted,
    UploadTooLarge,
)
from imagecache.domain.file_record import FileRecord
from imagecache.domain.identity import Identity
from imagecache.domain.ports import TokenAuthority
from imagecache.services.file_cache import FileCache
from imagecache.web.bodies.json_body import read_json
from imagecache.web.bodies.uploads import BulkReader, WholePart
from imagecache.web.contract.answers import CacheId, FileMetadata, FileOk, FileStored, Routes, Versions
from imagecache.web.contract.requests import CacheIdParams
from imagecache.web.error_responses import ApiError
from imagecache.web.serving import serve_blob

ROUTES = {
    "root": {"method": "GET", "path": "/v1"},
    "generate_cache_id": {"method": "POST", "path": "/v1/cache_id"},
    "download_cache_file": {"method": "GET", "path": "/v1/cache/<cache_id>"},
    "upload_cache_file": {"method": "POST", "path": "/v1/cache/<cache_id>"},
    "delete_cache_file": {"method": "DELETE", "path": "/v1/cache/<cache_id>"},
}
NOT_FOUND = "Cache ID not found"
MAX_FILENAME = 255  # bytes: what filesystems take; secure_filename leaves ASCII only
FORBIDDEN = "You do not have access to that cache"


class VersionsResource:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = Versions(versions={"v1": "/v1"}, kentik=["/requests", "/image/<id>", "/info"]).json_body()


class RoutesResource:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = Routes(routes=ROUTES).json_body()


class Authenticator:
    """Who is asking: the first check on every /v1 route."""

    def __init__(self, authority: TokenAuthority) -> None:
        self._authority = authority

    def identify(self, req: falcon.Request) -> Identity:
        token = req.get_header("Authorization")
        if not token:
            raise ApiError(400, "Missing header: Authorization")
        scheme, _, credentials = token.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():  # as most clients send it; KBase's send it bare
            token = credentials
        if not (token.isascii() and token.isprintable()):  # no token is; an auth service could not be asked
            raise ApiError(403, "Invalid token")
        try:
            return self._authority.identify(token.strip())
        except InvalidToken:
            raise ApiError(403, "Invalid token") from None
        except AuthUnavailable as exc:
            raise ApiError(503, f"Authentication service unavailable: {exc}", headers={"Retry-After": "5"}) from None


class CacheIdResource:
    def __init__(self, files: FileCache, auth: Authenticator, max_body_bytes: int) -> None:
        self._files = files
        self._auth = auth
        self._max_body = max_body_bytes

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        identity = self._auth.identify(req)
        if (req.content_type or "").split(";")[0].strip().lower() != "application/json":
            raise ApiError(400, "Invalid Content-Type")
        params = self._params(req)
        record = self._files.cache_id(identity, params)
        resp.media = CacheId(cache_id=record.cache_id, status="ok", metadata=_metadata(record)).json_body()

    def _params(self, req: falcon.Request) -> dict[str, Any]:
        try:
            return CacheIdParams.model_validate(read_json(req, self._max_body, invalid="JSON parsing error")).root
        except ValidationError:
            raise ApiError(400, "JSON parsing error: cache parameters must be a non-empty JSON object") from None


class CacheFileResource:
    def __init__(self, files: FileCache, auth: Authenticator) -> None:
        self._files = files
        self._auth = auth

    def on_get(self, req: falcon.Request, resp: falcon.Response, cache_id: str) -> None:
        identity = self._auth.identify(req)
        with _refusals():
            record = self._files.download(identity, cache_id)
        resp.cache_control = ["no-cache"]
        resp.set_header("Content-Disposition", _disposition(record.filename))
        serve_blob(req, resp, record, lambda start, length: self._files.open(record, start, length))

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, cache_id: str) -> None:
        identity = self._auth.identify(req)
        with _refusals():
            record = self._files.owned(identity, cache_id)  # before a byte of the body is read
        if req.content_length is None:  # Falcon's multipart parser bounds parts by the body length
            raise ApiError(411, "Length Required: send the upload with a Content-Length")
        if req.content_length > self._files.max_upload_bytes:
            raise ApiError(413, f"upload exceeds {self._files.max_upload_bytes} bytes")
        if not (req.content_type or "").lower().startswith("multipart/form-data"):
            raise ApiError(400, "Invalid Content-Type: expected multipart/form-data")
        stored = self._store(req, record)
        resp.media = FileStored(status="ok", sha256=stored.etag, size=stored.size, filename=stored.filename).json_body()

    def on_delete(self, req: falcon.Request, resp: falcon.Response, cache_id: str) -> None:
        identity = self._auth.identify(req)
        with _refusals():
            self._files.delete(identity, cache_id)
        resp.media = FileOk(status="ok").json_body()

    def _store(self, req: falcon.Request, record: FileRecord) -> FileRecord:
        expected = req.get_header("X-Content-SHA256")
        req.env["wsgi.input"] = BulkReader(req.env["wsgi.input"], req.content_length or 0)  # before Falcon wraps it
        try:
            form = iter(req.get_media())
            for part in form:
                if part.name != "file":
                    continue
                with _refusals():
                    return self._files.store(
                        record,
                        WholePart(part, form),
                        filename=_filename(part),
                        content_type=_content_type(part),
                        expected_sha256=expected,
                        size_hint=req.content_length or 0,
                    )
        except ChecksumMismatch as exc:
            raise ApiError(400, f"Checksum mismatch: the uploaded file's sha256 is {exc}") from None
        except UploadTooLarge:
            raise ApiError(413, f"upload exceeds {self._files.max_upload_bytes} bytes") from None
        except CannotFit:
            raise ApiError(507, "the file is larger than the whole cache (CACHE_MAX_BYTES)") from None
        except (falcon.MediaMalformedError, SourceInterrupted) as exc:
            raise ApiError(400, f"Malformed upload: {_describe(exc)}") from None
        raise ApiError(400, "File field missing: the form has no 'file' field")


@contextmanager
def _refusals() -> Iterator[None]:
    """Answer the file cache's refusals as the seed does."""
    try:
        yield
    except CacheNotFound:
        raise ApiError(404, NOT_FOUND) from None
    except CacheForbidden:
        raise ApiError(403, FORBIDDEN) from None


def _metadata(record: FileRecord) -> FileMetadata:
    return FileMetadata(filename=record.filename, token_id=record.token_id, expiration=str(int(record.expires_at)))


def _filename(part: Any) -> str:
    """The client's file name, reduced to safe ASCII (no paths, quotes or line breaks), at most 255 bytes."""
    try:
        name: str = part.secure_filename
    except falcon.MediaMalformedError:
        return "file"
    if len(name) <= MAX_FILENAME:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or len(extension) > 16:
        return name[:MAX_FILENAME]
    return f"{stem[: MAX_FILENAME - len(extension) - 1]}.{extension}"


def _content_type(part: Any) -> str:
    value = part.content_type.strip()
    return value if value.isprintable() and "/" in value and len(value) < 128 else "application/octet-stream"


def _disposition(filename: str) -> str:
    return f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"


def _describe(exc: Exception) -> str:
    return getattr(exc, "description", None) or str(exc) or type(exc).__name__

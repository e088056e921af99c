"""The versioned cache's manifest: a checked-in JSON file that pins each versioned path to a version.

    {"/foo/bar.csv": "1.2.5", "/foo/bar.json": "0.1.6"}

A value may instead be a local path (relative to the manifest's folder, or absolute) or an `s3://` path, for
trying a file out before publishing it. The manifest is read at each lookup, and rewritten
atomically (a temporary file beside it, renamed over it, keeping its mode and its order), so a reader sees the
old manifest or the new one, never half of either.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
from collections import Counter
from dataclasses import dataclass
from functools import total_ordering
from pathlib import Path
from typing import Literal

from imagecache_client.errors import BadManifest, Refused
from imagecache_client.local.blob_files import umask

Part = Literal["major", "minor", "patch"]
_VERSION = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
_VERSION_LIKE = re.compile(r"[0-9.]+")
_MAX_KEY = 1024  # S3's longest key, in UTF-8 bytes
MAX_MANIFEST_BYTES = 16 * 1024**2  # a manifest pins paths; thousands of them fit in far less
_VERSION_ROOM = 33  # a key drops the path's first "/" and adds "/<version>/", versions of up to 32 characters
_PATH_RULE = "e.g. /foo/bar.csv: absolute, printable, no empty, ., .. or version parts; its key within 1,024 bytes"


@total_ordering
@dataclass(frozen=True)
class Version:
    """MAJOR.MINOR.PATCH. The cache pins exact versions; only `vc update` reads meaning into the parts."""

    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> Version:
        found = _VERSION.fullmatch(text)
        if found is None:
            raise Refused(f"not a version: {text!r} (MAJOR.MINOR.PATCH, e.g. 1.2.5)")
        return cls(*(int(part) for part in found.groups()))

    def bumped(self, part: Part) -> Version:
        """The next major, minor or patch version."""
        if part == "major":
            return Version(self.major + 1, 0, 0)
        if part == "minor":
            return Version(self.major, self.minor + 1, 0)
        if part == "patch":
            return Version(self.major, self.minor, self.patch + 1)
        raise ValueError(f"not a part of a version: {part!r} (major, minor or patch)")

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return (self.major, self.minor, self.patch) < (other.major, other.minor, other.patch)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


def is_version(text: str) -> bool:
    return _VERSION.fullmatch(text) is not None


def versioned_path(text: str) -> str:
    """A versioned path as given (`/foo/bar.csv`), or Refused.

    Absolute and printable, with no empty, `.` or `..` parts, none that is a version (a version's folder holds
    only its file), and short enough that a version's key, `foo/bar.csv/<version>/bar.csv`, fits S3's 1,024 bytes.
    """
    parts = text.split("/")
    if (
        not text.startswith("/")
        or any(part in {"", ".", ".."} or is_version(part) for part in parts[1:])
        or not text.isprintable()
        or len(text.encode()) + len(parts[-1].encode()) + _VERSION_ROOM > _MAX_KEY
    ):
        raise Refused(f"not a versioned path: {text[:100]!r} ({_PATH_RULE})")
    return text


class Manifest:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._parsed: tuple[bytes, dict[str, str]] | None = None  # the text last read, and its pins

    def pins(self) -> dict[str, str]:
        """Every pin, as the file holds them now; none without a file.

        Read at every call (a file rewritten within one tick of the clock keeps its size and mtime, so neither
        tells a change), parsed and checked again only when its text changed.
        """
        try:
            text = self._read()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise BadManifest(f"manifest {self.path}: {exc.strerror}") from exc
        if not text.strip():  # a file just made (`touch`): nothing pinned yet
            return {}
        if self._parsed is None or self._parsed[0] != text:
            self._parsed = (text, _checked(self.path, text))
        return dict(self._parsed[1])

    def _read(self) -> bytes:
        """The file's bytes, if it is a regular file within MAX_MANIFEST_BYTES: a manifest is checked in with the
        code, and git stores links, so one may name /dev/zero (endless) or a FIFO (never answers)."""
        fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)  # opening a FIFO without O_NONBLOCK waits for a writer
        with os.fdopen(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise BadManifest(f"manifest {self.path}: not a regular file")
            text = file.read(MAX_MANIFEST_BYTES + 1)
        if len(text) > MAX_MANIFEST_BYTES:
            raise BadManifest(f"manifest {self.path}: larger than {MAX_MANIFEST_BYTES // 1024**2} MiB")
        return text

    def pinned(self, path: str) -> str | None:
        return self.pins().get(path)

    def resolve(self, value: str) -> str:
        """A pin that names a file, as a path to hand the asset cache: `s3://` as it is, a local one made absolute."""
        if value.startswith("s3://"):
            return value
        return str((self.path.parent / Path(value).expanduser()).absolute())

    def pin(self, path: str, value: str) -> None:
        """Rewrite the file with `path` pinned to `value` (the caller holds the lock that serialises writers)."""
        pins = self.pins()
        pins[versioned_path(path)] = value
        self._write(json.dumps(pins, indent=self._indent(), ensure_ascii=False) + "\n")

    def check_writable(self) -> None:
        """Refused unless the file can be read (if there is one) and rewritten."""
        self.pins()
        target = self.path.resolve()
        if target.exists() and not os.access(target, os.W_OK):
            raise Refused(f"manifest {self.path}: read-only")
        if not os.access(target.parent, os.W_OK | os.X_OK):
            raise Refused(f"manifest {self.path}: its folder cannot be written (or is not there)")

    def _indent(self) -> int:
        """The file's own indent (its first indented line's), so a rewrite changes only the pin."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return 2
        return next((len(line) - len(line.lstrip(" ")) for line in lines if line.startswith(" ")), 2)

    def _write(self, text: str) -> None:
        """Renamed over the file (over a link's target: the link stays), keeping the file's mode."""
        target = self.path.resolve()
        try:
            mode = os.stat(target).st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o666 & ~umask()
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temp, mode)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise


def _checked(path: Path, text: bytes) -> dict[str, str]:
    try:
        pins = json.loads(text.decode("utf-8"), object_pairs_hook=_no_repeats)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadManifest(f"manifest {path}: not JSON: {exc}") from exc
    if not isinstance(pins, dict) or not all(isinstance(v, str) for v in pins.values()):
        raise BadManifest(f'manifest {path}: not a JSON object of paths to versions ({{"/a.csv": "1.0.0"}})')
    for key, value in pins.items():
        try:
            versioned_path(key)
        except Refused as exc:
            raise BadManifest(f"manifest {path}: {exc.message}") from None
        if _VERSION_LIKE.fullmatch(value) and not is_version(value):
            raise BadManifest(f"manifest {path}: {key}: not a version: {value!r} (MAJOR.MINOR.PATCH)")
    return pins


def _no_repeats(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object whose keys are all different (a merge gone wrong may pin one path twice)."""
    repeated = sorted(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
    if repeated:
        raise ValueError(f"pinned more than once: {', '.join(repeated)}")
    return dict(pairs)

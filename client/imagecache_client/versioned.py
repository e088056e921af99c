"""VersionedCache: version-tracked assets, as baiji-pod's versioned cache is.

Each version of a versioned path is its own immutable S3 object,

    /foo/bar.csv at 1.2.5   ->   s3://<bucket>/foo/bar.csv/1.2.5/bar.csv

published once and never written over (S3 itself refuses the second write), so a copy in the local cache is
never revalidated. A checked-in manifest (manifest.py) pins the version each revision of the code reads;
`vc("/foo/bar.csv")` returns the local path of the pinned version. `add` and `update` publish a new version
and then pin it.
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass
from pathlib import Path

from imagecache_client.assets import AssetCache
from imagecache_client.errors import AlreadyExists, ClientError, NotFound, Refused
from imagecache_client.local import Fetched
from imagecache_client.local.blob_files import file_size
from imagecache_client.manifest import Manifest, Part, Version, is_version, versioned_path

FIRST = Version(1, 0, 0)


@dataclass(frozen=True)
class Pinned:
    """A line of `vc ls`: a path, what the manifest pins it to, and the newest version published."""

    path: str
    pinned: str
    latest: Version | None


class VersionedCache:
    def __init__(self, asset_cache: AssetCache, manifest_path: Path | str, bucket: str) -> None:
        self.assets = asset_cache
        self.manifest = Manifest(manifest_path)
        self.bucket = bucket

    def __call__(self, path: str | Path) -> Path:
        return self.fetched(path).path

    def fetched(self, path: str | Path) -> Fetched:
        """The pinned version of a versioned path, in the local cache.

        An `s3://` path goes to the asset cache as it is, and a file that is not in the manifest (such as a path
        this cache handed out) is returned as it is, so `vc(vc(path))` is `vc(path)`.
        """
        text = str(path)
        if text.startswith("s3://"):
            return self.assets.fetched(text)
        pin = self.manifest.pinned(text)
        if pin is None and _is_file(text):  # a file, such as one this cache handed out
            return Fetched(Path(text), file_size(Path(text)), from_cache=True)
        if pin is None:
            versioned_path(text)
            raise NotFound(f"{text} is not in the manifest {self._named()}")
        if is_version(pin):
            return self.assets.fetched(self.url(text, Version.parse(pin)), immutable=True)
        resolved = self.manifest.resolve(pin)
        if not resolved.startswith("s3://") and not Path(resolved).is_file():
            raise NotFound(f"{text} is pinned to {pin}, and there is no such file")
        return self.assets.fetched(resolved)

    def url(self, path: str, version: Version) -> str:
        """Where a version lives: s3://<bucket>/foo/bar.csv/1.2.5/bar.csv."""
        return f"s3://{self.bucket}/{_key(path, version)}"

    def versions(self, path: str) -> list[Version]:
        """Every version published, oldest first."""
        names = self.assets.store.folders(self.bucket, f"{versioned_path(path).lstrip('/')}/")
        return sorted(Version.parse(name) for name in names if is_version(name))

    def add(self, path: str, file: Path | str, version: Version | str = FIRST) -> Version:
        """Publish the first version of a new versioned path, and pin it.

        Run again after an answer that was lost (the version published with these very bytes, not pinned), it
        pins that version; a pin to a file being tried out gives way.
        """
        version = version if isinstance(version, Version) else Version.parse(version)
        published = self.versions(path)
        pin = self.manifest.pinned(path)
        if (pin is not None and is_version(pin)) or (published and version not in published):
            had = f"version {pin} pinned" if pin is not None and is_version(pin) else f"versions up to {published[-1]}"
            raise Refused(f"{path} already has {had}; publish a new one with update")
        return self._publish(path, file, version)

    def update(self, path: str, file: Path | str, part: Part) -> Version:
        """Publish the next major, minor or patch version after the newest there is, and pin it."""
        pin = self.manifest.pinned(path)
        known = self.versions(path) + ([Version.parse(pin)] if pin is not None and is_version(pin) else [])
        if not known:
            raise NotFound(f"{path} has no version yet; publish its first with add")
        return self._publish(path, file, max(known).bumped(part))

    def listing(self) -> list[Pinned]:
        return [Pinned(path, pin, max(self.versions(path), default=None)) for path, pin in self.manifest.pins().items()]

    def _publish(self, path: str, file: Path | str, version: Version) -> Version:
        """Upload as a new object (never over one), then pin it in the manifest.

        An object already there with these very bytes is this publish, answered before (a retry): it is pinned.
        """
        source = Path(file)
        if not source.is_file():
            raise Refused(f"{file}: no such file")
        key = _key(versioned_path(path), version)
        self.manifest.check_writable()  # before the upload: a version published and not pinned is stuck
        with open(source, "rb") as opened:
            sha256 = hashlib.file_digest(opened, "sha256").hexdigest()
        try:
            self.assets.store.put_new(self.bucket, key, source, sha256)
        except AlreadyExists as exc:
            if self.assets.store.stat(self.bucket, key).sha256 != sha256:
                raise AlreadyExists(
                    f"{path} {version} is already published (by another publish meanwhile?): versions are never "
                    "written over; run update again"
                ) from exc
        self._pin(path, version)
        return version

    def _named(self) -> str:
        there = "" if self.manifest.path.exists() else " (there is no such file)"
        return f"{self.manifest.path}{there}"

    def _pin(self, path: str, version: Version) -> None:
        """Pin a version just published, unless the manifest meanwhile pins a newer one (a publish beside ours)."""
        try:
            with self.assets.local.lock(f"manifest {self.manifest.path.resolve()}"):
                pin = self.manifest.pinned(path)
                newer = pin is not None and is_version(pin) and Version.parse(pin) > version
                if not newer:
                    self.manifest.pin(path, str(version))
        except (OSError, ClientError) as exc:
            reason = exc.message if isinstance(exc, ClientError) else exc.strerror
            raise ClientError(
                f'{path} {version} is published but not pinned ({reason}); pin it: "{path}": "{version}"'
            ) from exc
        if newer:
            raise Refused(f"{path} {version} is published, but the manifest meanwhile pins {pin}; left as it is")


def _key(path: str, version: Version) -> str:
    return f"{path.lstrip('/')}/{version}/{posixpath.basename(path)}"


def _is_file(text: str) -> bool:
    """Whether `text` names a file (a name too long or with a NUL names none)."""
    try:
        return Path(text).is_file()
    except (OSError, ValueError):
        return False

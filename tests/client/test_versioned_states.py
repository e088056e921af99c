"""The versioned cache as a state machine against moto's S3 server: any sequence of adds, updates, re-pins (an
older checkout's manifest) and reads agrees with a model of published versions and pins."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from minio import Minio

from imagecache_client import AssetCache, AssetConfig, NotFound, Refused, Version, VersionedCache

PATHS = st.sampled_from(["/a.csv", "/refs/b.fa", "/refs/b.fa/c"])  # the last lives inside the second's folder
DATA = st.binary(max_size=64)
PARTS = st.sampled_from(["major", "minor", "patch"])


def test_any_sequence_of_publishes_and_reads_agrees_with_the_model(s3_server, tmp_path):
    def machine() -> VersionedMachine:
        return VersionedMachine(s3_server, tmp_path / uuid.uuid4().hex)

    run_state_machine_as_test(machine, settings=settings(max_examples=12, stateful_step_count=12, deadline=None))


class VersionedMachine(RuleBasedStateMachine):
    def __init__(self, endpoint: str, root) -> None:
        super().__init__()
        root.mkdir()
        self.root = root
        bucket = f"states-{uuid.uuid4().hex[:8]}"
        Minio(endpoint, access_key="testing", secret_key="testing", secure=False).make_bucket(bucket)
        config = AssetConfig(endpoint=endpoint, access_key="testing", secret_key="testing", cache_dir=root / "local")
        self.vc = VersionedCache(AssetCache(config), root / "versioned_assets.json", bucket)
        self.published: dict[str, dict[Version, bytes]] = {}
        self.pins: dict[str, Version] = {}
        self.files = 0

    def _file(self, data: bytes):
        self.files += 1
        path = self.root / f"source-{self.files}"
        path.write_bytes(data)
        return path

    @rule(path=PATHS, data=DATA)
    def add(self, path: str, data: bytes) -> None:
        if path in self.published:
            with pytest.raises(Refused):
                self.vc.add(path, self._file(data))
            return
        assert self.vc.add(path, self._file(data)) == Version(1, 0, 0)
        self.published[path] = {Version(1, 0, 0): data}
        self.pins[path] = Version(1, 0, 0)

    @rule(path=PATHS, part=PARTS, data=DATA)
    def update(self, path: str, part: str, data: bytes) -> None:
        if path not in self.published:
            with pytest.raises(NotFound):
                self.vc.update(path, self._file(data), part)  # type: ignore[arg-type]
            return
        expected = max(self.published[path]).bumped(part)
        assert self.vc.update(path, self._file(data), part) == expected  # type: ignore[arg-type]
        self.published[path][expected] = data
        self.pins[path] = expected

    @rule(path=PATHS, pick=st.integers(min_value=0))
    def check_out_an_older_manifest(self, path: str, pick: int) -> None:
        if path not in self.published:
            return
        versions = sorted(self.published[path])
        self.pins[path] = versions[pick % len(versions)]
        manifest = self.vc.manifest.path
        manifest.write_text(json.dumps({**json.loads(manifest.read_text()), path: str(self.pins[path])}))

    @rule(path=PATHS)
    def read(self, path: str) -> None:
        if path not in self.pins:
            with pytest.raises(NotFound):
                self.vc(path)
            return
        assert self.vc(path).read_bytes() == self.published[path][self.pins[path]]

    @invariant()
    def listing_agrees(self) -> None:
        listed = {line.path: (line.pinned, line.latest) for line in self.vc.listing()}
        assert listed == {path: (str(pin), max(self.published[path])) for path, pin in self.pins.items()}

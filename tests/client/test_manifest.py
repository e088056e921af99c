"""The manifest and its versions, by property: any version prints and parses back and orders as its numbers do;
any path is either a versioned path or refused; any pins written come back, in order, whatever their text."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imagecache_client import ClientError, Refused, Version
from imagecache_client.manifest import Manifest, is_version, versioned_path


def _no_version_part(path: str) -> bool:
    return not any(is_version(part) for part in path.split("/"))


VERSIONS = st.builds(Version, *(st.integers(min_value=0, max_value=10**6) for _ in range(3)))
SEGMENTS = st.text(st.characters(blacklist_characters="/"), min_size=1).filter(str.isprintable)
PATHS = st.lists(SEGMENTS.filter(lambda part: part not in {".", ".."}), min_size=1, max_size=5).map(
    lambda parts: "/" + "/".join(parts)
)


@given(VERSIONS, VERSIONS)
def test_a_version_prints_parses_back_and_orders_as_its_numbers(one, other):
    assert Version.parse(str(one)) == one
    assert (one < other) == ((one.major, one.minor, one.patch) < (other.major, other.minor, other.patch))
    assert one < one.bumped("patch") < one.bumped("minor") < one.bumped("major")


@pytest.mark.parametrize("text", ["1.2", "1.2.3.4", "01.2.3", "1.2.x", "v1.2.3", " 1.2.3", "1.2.3\n", "-1.0.0", ""])
def test_what_is_not_a_version_is_refused(text):
    with pytest.raises(Refused, match="not a version"):
        Version.parse(text)


@given(PATHS)
def test_a_path_is_a_versioned_path_if_no_part_is_a_version_and_its_longest_key_fits(path):
    longest_key = f"{path[1:]}/{'9' * 10}.{'9' * 10}.{'9' * 10}/{path.rsplit('/', 1)[1]}"
    if len(longest_key.encode()) <= 1024 and not any(is_version(part) for part in path.split("/")):
        assert versioned_path(path) == path
    else:
        with pytest.raises(Refused):
            versioned_path(path)


@given(PATHS, st.sampled_from(["/./", "/../", "//", "\n", "\x00"]), PATHS)
def test_a_path_with_an_empty_dot_or_control_part_is_refused(head, odd, tail):
    with pytest.raises(Refused):
        versioned_path(head + odd + tail.lstrip("/"))


@given(
    st.dictionaries(
        PATHS.filter(lambda path: len(path.encode()) <= 900 and not any(map(is_version, path.split("/")))),
        st.sampled_from(["1.0.0", "0.1.6", "a.csv"]),
    )
)
def test_pins_written_come_back_in_their_order(tmp_path_factory, pins):
    manifest = Manifest(tmp_path_factory.mktemp("manifest") / "versioned_assets.json")
    for path, value in pins.items():
        manifest.pin(path, value)
    assert list(manifest.pins().items()) == list(pins.items())
    assert manifest.path.exists() == bool(pins)


def test_a_manifest_rewritten_within_one_clock_tick_is_read_anew(tmp_path):
    manifest = Manifest(tmp_path / "m.json")
    for version in ("1.0.0", "2.0.0", "3.0.0"):  # the same size each time, at once
        manifest.path.write_text(json.dumps({"/a": version}))
        assert manifest.pinned("/a") == version


def test_a_manifest_with_an_odd_path_names_itself(tmp_path):
    (tmp_path / "m.json").write_text(json.dumps({"relative.csv": "1.0.0"}))
    with pytest.raises(ClientError, match="manifest .*m.json: not a versioned path"):
        Manifest(tmp_path / "m.json").pins()


def test_a_path_pinned_twice_is_refused_and_paths_stay_readable(tmp_path):
    (tmp_path / "m.json").write_text('{"/a": "1.0.0", "/b": "1.0.0", "/a": "2.0.0"}')
    with pytest.raises(ClientError, match="pinned more than once: /a"):
        Manifest(tmp_path / "m.json").pins()
    manifest = Manifest(tmp_path / "n.json")
    manifest.pin("/données/été.csv", "1.0.0")
    assert "/données/été.csv" in manifest.path.read_text(encoding="utf-8")


def test_only_major_minor_and_patch_are_parts():
    with pytest.raises(ValueError, match="not a part"):
        Version(1, 2, 3).bumped("micro")  # type: ignore[arg-type]

"""Properties of canonical JSON and id parsing, over generated inputs (hypothesis)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from imagecache.blobs.filesystem import FilesystemBlobStore
from imagecache.domain.entry_record import EntryRecord
from imagecache_client.ids import EntryId, canonical_json, query_digest

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=25,
)


def shuffled(value, seed: int):
    """The same JSON value with every object's keys in another order."""
    if isinstance(value, dict):
        items = list(value.items())
        items = items[seed % len(items) :] + items[: seed % len(items)] if items else items
        return {key: shuffled(child, seed + 1) for key, child in reversed(items)}
    if isinstance(value, list):
        return [shuffled(child, seed + 1) for child in value]
    return value


@given(json_values, st.integers(min_value=0, max_value=10))
def test_any_json_value_has_one_id_whatever_its_key_order(value, seed):
    assert query_digest(shuffled(value, seed)) == query_digest(value)
    assert json.loads(canonical_json(value)) == value


@given(st.text())
def test_parsing_never_crashes_and_accepts_only_exact_ids(text):
    parsed = EntryId.parse(text)
    if parsed is not None:
        assert text.startswith(parsed.digest + "_") and len(parsed.digest) == 64
        assert parsed.expires_at >= 0


@given(st.from_regex(r"[0-9a-f]{64}_[0-9]{1,11}(\.[0-9]{1,9})?", fullmatch=True))
def test_every_well_formed_id_parses(text):
    assert EntryId.parse(text) is not None


@settings(max_examples=300)
@given(st.text(min_size=1, max_size=80))
def test_no_string_makes_a_path_outside_the_storage_root(tmp_path_factory, text):
    root = Path(tmp_path_factory.getbasetemp()) / "root"
    store = FilesystemBlobStore(root)
    for key in (text, EntryRecord.attempt_key(text), f"images/{text}"):
        try:
            path = store.path(key)
        except ValueError:
            continue
        assert os.path.commonpath([path, store.root]) == str(store.root)
        assert ".tmp" not in path.relative_to(store.root).parts

"""The domain's outage rules: storage says so itself, adapters teach the rest, and only outages are waited out."""

from __future__ import annotations

import pytest

from imagecache.domain import outages
from imagecache.domain.errors import StorageFull, StorageUnavailable
from imagecache.domain.outages import is_outage, recognise, through_outage


class FlakyDependencyError(Exception):
    """A stand-in dependency's own way of saying "not now"."""


def test_storage_unavailable_is_an_outage_and_storage_full_is_not():
    assert is_outage(StorageUnavailable("connection refused")) and not is_outage(StorageFull("full"))


def test_an_adapter_teaches_its_dependencys_outages_once(monkeypatch):
    monkeypatch.setattr(outages, "_tests", [])

    def test(exc: BaseException) -> bool:
        return isinstance(exc, FlakyDependencyError)

    assert not is_outage(FlakyDependencyError())
    recognise(test)
    recognise(test)
    assert outages._tests == [test]
    assert is_outage(FlakyDependencyError()) and not is_outage(ValueError("a bug"))


def test_a_write_is_tried_again_through_an_outage_but_never_through_a_bug():
    attempts = []

    def write() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise StorageUnavailable("not yet")
        return "stored"

    assert through_outage(write, seconds=5) == "stored" and len(attempts) == 3

    def buggy() -> None:
        attempts.append(1)
        raise ValueError("a bug")

    attempts.clear()
    with pytest.raises(ValueError):
        through_outage(buggy, seconds=5)
    assert len(attempts) == 1

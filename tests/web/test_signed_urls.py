"""UrlSigner: a URL it makes verifies until it expires, never past its entry; anything changed in it, or a key no
longer kept, is a 403 that says which."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imagecache.web.error_responses import ApiError
from imagecache.web.signed_urls import UrlSigner

NOW = 1_800_000_000.0
ENTRY_ID = "a" * 64 + "_1800086400.5"
ids = st.from_regex(r"[0-9a-f]{64}_1[0-9]{9}(\.[0-9]{1,6})?", fullmatch=True)
keys = st.binary(min_size=1, max_size=64)


def parts(url: str) -> tuple[str, str, str]:
    split = urlsplit(url)
    query = parse_qs(split.query)
    return unquote(split.path.removeprefix("/image/")), query["expires"][0], query["sig"][0]


def signer(*keys: bytes, now: float = NOW) -> UrlSigner:
    return UrlSigner(keys, clock=lambda: now)


def refusal(verifying: UrlSigner, entry_id: str, expires: str, sig: str) -> str:
    """What the 403 says."""
    with pytest.raises(ApiError) as refused:
        verifying.verify(entry_id, expires, sig)
    assert refused.value.status == 403
    return refused.value.description or ""


@given(entry_id=ids, key=keys, ttl=st.integers(1, 10**7))
def test_a_url_verifies_until_it_expires_and_never_past_its_entry(entry_id, key, ttl):
    entry_expires_at = float(entry_id.partition("_")[2])
    url = signer(key).url_for(entry_id, entry_expires_at, ttl)
    path_id, expires, sig = parts(url)
    assert path_id == entry_id and int(expires) <= min(NOW + ttl, entry_expires_at)
    if int(expires) > NOW:
        assert signer(key).verify(entry_id, expires, sig) == int(expires)
    assert "expired" in refusal(signer(key, now=int(expires)), entry_id, expires, sig)


@given(key=keys, other=ids, later=st.integers(1, 10**6))
def test_another_id_or_expiry_does_not_match(key, other, later):
    _, expires, sig = parts(signer(key).url_for(ENTRY_ID, 1_800_086_400.5, 3600))
    for entry_id, until in ((other, expires), (ENTRY_ID, str(int(expires) + later))):
        assert "does not match" in refusal(signer(key), entry_id, until, sig)


@given(sig=st.text(min_size=1, max_size=64))
def test_any_other_signature_does_not_match_whatever_its_characters(sig):
    _, expires, right = parts(signer(b"k").url_for(ENTRY_ID, 1_800_086_400.5, 3600))
    if sig != right:
        assert "does not match" in refusal(signer(b"k"), ENTRY_ID, expires, sig)


def test_keys_rotate_newest_first_and_a_dropped_key_no_longer_verifies():
    _, expires, old_sig = parts(signer(b"old").url_for(ENTRY_ID, 1_800_086_400.5, 3600))
    rotated = signer(b"new", b"old")
    assert rotated.verify(ENTRY_ID, expires, old_sig) == int(expires)
    _, expires, new_sig = parts(rotated.url_for(ENTRY_ID, 1_800_086_400.5, 3600))
    assert signer(b"new").verify(ENTRY_ID, expires, new_sig) == int(expires)  # signed with the newest
    assert "no longer kept" in refusal(signer(b"new"), ENTRY_ID, expires, old_sig)


@pytest.mark.parametrize("expires", ["", "soon", "-5", "1e9", "9" * 13, "１８００"])
def test_an_expiry_that_is_not_a_unix_time_is_refused(expires):
    assert "Unix time" in refusal(signer(b"k"), ENTRY_ID, expires, "x")


def test_a_signer_needs_a_key():
    with pytest.raises(ValueError):
        UrlSigner([])

"""TENANTS: who is shown, and each tenant's quotas, read from one line of text."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imagecache.domain.tenants import NO_QUOTA, Quota, Tenants


def test_named_tenants_their_quotas_and_everyone_else_s():
    tenants = Tenants.parse("alice: fresh_per_minute=600, pending=100, stored_bytes=5G; bob; *: pending=20", "TENANTS")
    assert dict(tenants.named) == {"alice": Quota(600, 100, 5 * 1024**3), "bob": NO_QUOTA}
    assert tenants.quota("carol") == Quota(pending=20)
    assert tenants.quota("bob") == NO_QUOTA  # named without quotas: shown, not bounded
    assert tenants.budgeted


def test_empty_names_nobody_and_bounds_nothing():
    tenants = Tenants.parse("", "TENANTS")
    assert not tenants.named and tenants.quota("anyone") == NO_QUOTA and not tenants.budgeted


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("alice: speed=3", "'speed=3' is not quota=value"),
        ("alice: pending", "'pending' is not quota=value"),
        ("alice: pending=-1", "pending must not be negative"),
        ("alice: pending=many", "pending must be a whole number"),
        ("alice: stored_bytes=lots", "stored_bytes must be a size such as 5G"),
        ("alice; alice", "tenant 'alice' is named twice"),
        ("a b: pending=1", "'a b' is not a tenant name"),
        (": pending=1", "'' is not a tenant name"),
    ],
)
def test_a_bad_part_is_named_with_the_setting(text, said):
    with pytest.raises(ValueError, match="^TENANTS: ") as raised:
        Tenants.parse(text, "TENANTS")
    assert said in str(raised.value)


NAMES = st.text(
    st.characters(codec="utf-8", exclude_characters=" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0:;,=*"),
    min_size=1,
    max_size=20,
).filter(lambda name: name.strip() == name and not any(c.isspace() for c in name))
BOUND = st.none() | st.integers(0, 2**53)


@given(st.dictionaries(NAMES, st.tuples(BOUND, BOUND, BOUND), max_size=5))
def test_what_is_written_is_what_is_read(written):
    def part(name, bounds):
        pairs = [f"{quota}={value}" for quota, value in zip(("fresh_per_minute", "pending", "stored_bytes"), bounds)
                 if value is not None]  # fmt: skip
        return f"{name}: {', '.join(pairs)}"

    tenants = Tenants.parse(" ; ".join(part(name, bounds) for name, bounds in written.items()), "TENANTS")
    assert dict(tenants.named) == {name: Quota(*bounds) for name, bounds in written.items()}

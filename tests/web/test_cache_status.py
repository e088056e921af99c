"""Every answer's Cache-Status member is one of those the OpenAPI document describes, and well formed."""

from __future__ import annotations

import re

import pytest

from imagecache.domain.entry_record import Reuse
from imagecache.web import cache_status

# RFC 9211 over RFC 8941: a token, then parameters: key (=value: a token or an integer) after "; ".
MEMBER = re.compile(r"^[A-Za-z*][\w:/!#$%&'*+.^`|~-]*(; [a-z*][a-z0-9_.*-]*(=[A-Za-z*][\w:/!#$%&'*+.^`|~-]*|=\d+)?)*$")


@pytest.mark.parametrize("refresh", [False, True])
@pytest.mark.parametrize("reuse", list(Reuse))
def test_each_way_a_request_is_answered_has_a_described_member(reuse, refresh):
    value = cache_status.of_request(reuse, refresh)
    assert value in cache_status.ANSWERS and value.startswith(cache_status.MEMBER + "; ")


def test_only_a_new_entry_of_a_refresh_says_the_request_forwarded():
    answers = {(reuse, refresh): cache_status.of_request(reuse, refresh) for reuse in Reuse for refresh in (0, 1)}
    assert [key for key, value in answers.items() if value == cache_status.REFRESHED] == [(Reuse.CREATED, 1)]


@pytest.mark.parametrize("value", list(cache_status.ANSWERS))
def test_every_member_is_a_structured_field_list_member(value):
    assert MEMBER.match(value), value


def test_an_image_waited_for_was_coalesced_with_its_production():
    assert (cache_status.of_image(waited=False), cache_status.of_image(waited=True)) == (
        cache_status.HIT,
        cache_status.COALESCED,
    )

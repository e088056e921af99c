"""The estimate of a pending entry: more work ahead is never sooner, and Retry-After stays within reason."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from imagecache.domain.estimates import RETRY_AFTER_DEFAULT, RETRY_AFTER_MOST, Estimate, estimate

aheads = st.integers(0, 10**6)
slots = st.integers(1, 1000)
runs = st.floats(0, 10**5, allow_nan=False)


@given(ahead=aheads, more=st.integers(0, 10**6), slots=slots, run=runs)
def test_more_work_ahead_is_never_sooner(ahead, more, slots, run):
    nearer, farther = estimate(ahead, slots, run, 0.0), estimate(ahead + more, slots, run, 0.0)
    assert nearer.queue_position <= farther.queue_position and nearer.eta_seconds <= farther.eta_seconds


@given(ahead=aheads, slots=slots, run=runs)
def test_waiting_is_never_sooner_than_running_and_a_line_is_counted_from_one(ahead, slots, run):
    waiting, running = estimate(ahead, slots, run, 0.0), estimate(None, slots, run, 0.0)
    assert waiting.queue_position == ahead + 1 and running.queue_position == 0
    assert waiting.eta_seconds >= running.eta_seconds == round(run, 1)


@given(run=runs, running_for=st.floats(0, 10**6, allow_nan=False))
def test_a_run_under_way_counts_down_to_zero(run, running_for):
    assert estimate(None, 4, run, running_for).eta_seconds == round(max(0.0, run - running_for), 1)


@given(ahead=st.one_of(st.none(), aheads), slots=slots, run=st.one_of(st.none(), runs))
def test_retry_after_is_within_a_second_and_a_minute(ahead, slots, run):
    found = estimate(ahead, slots, run, 0.0)
    assert 1 <= found.retry_after() <= RETRY_AFTER_MOST
    if run is None:
        assert found.eta_seconds is None and found.retry_after() == RETRY_AFTER_DEFAULT


@given(run=runs, over=st.floats(0, 10**6, allow_nan=False))
def test_an_overdue_run_is_asked_after_the_default_not_every_second(run, over):
    assert estimate(None, 4, run, run + over).retry_after() == RETRY_AFTER_DEFAULT


def test_a_line_starts_in_rounds_of_the_cap():
    assert estimate(0, 4, 2.0, 0.0) == Estimate(1, 3.0)  # the runs under way end in half a run, then its own
    assert estimate(3, 4, 2.0, 0.0) == Estimate(4, 3.0)  # the same round
    assert estimate(4, 4, 2.0, 0.0) == Estimate(5, 5.0)  # the next

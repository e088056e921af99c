"""A job's progress reports: clamped, cut, throttled to one every REPORT_EVERY seconds (the last always), and
nowhere outside a run."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from imagecache.domain.progress import MAX_MESSAGE, REPORT_EVERY, JobProgress, report_progress, reporting


@given(fraction=st.floats(-1e9, 1e9, allow_nan=False), message=st.text(max_size=500))
def test_a_report_is_a_fraction_from_0_to_1_and_a_message_of_at_most_max_bytes(fraction, message):
    sent: list[JobProgress] = []
    with reporting(sent.append):
        report_progress(fraction, message)
    assert 0.0 <= sent[0].fraction <= 1.0 and len(sent[0].message.encode()) <= MAX_MESSAGE
    assert message.startswith(sent[0].message)


def test_reports_in_a_tight_loop_reach_the_index_at_most_every_report_every_seconds_and_the_last_always():
    sent: list[JobProgress] = []
    ticks = iter([0.0, 0.1, 0.2, REPORT_EVERY + 0.1, REPORT_EVERY + 0.2, REPORT_EVERY + 0.3])
    with reporting(sent.append, clock=ticks.__next__):
        for n in range(1, 6):
            report_progress(n / 10)
        report_progress(1.0)
    assert [p.fraction for p in sent] == [0.1, 0.4, 1.0]


def test_outside_a_run_a_report_goes_nowhere():
    report_progress(0.5, "nobody listens")  # no error, nothing kept
    sent: list[JobProgress] = []
    with reporting(sent.append):
        pass
    report_progress(0.5)
    assert sent == []


def test_a_report_that_makes_no_sense_never_breaks_the_job_and_a_finished_one_is_sent_once():
    sent: list[JobProgress] = []
    ticks = iter([0.0, 0.1, 0.2, 0.3, 0.4])
    with reporting(sent.append, clock=ticks.__next__):
        report_progress(None, "none")  # type: ignore[arg-type]
        report_progress(float("nan"), "nan")
        report_progress(0.5, "\udcff lone surrogate")
        for _ in range(3):
            report_progress(1.0, "done")
    assert [(p.fraction, p.message.startswith("?")) for p in sent] == [(0.5, True), (1.0, False)]

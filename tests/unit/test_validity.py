"""Versions carry their own dates: the pure timeline of a document's versions (kb.validity)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from kb.types import DocumentStatus
from kb.validity import DatedVersion, in_force, line_up, scheduled_after, version_status

TODAY = dt.date(2026, 12, 1)
NEXT_MONTH = dt.date(2027, 1, 1)


def test_a_version_effective_next_month_is_scheduled_and_the_current_one_stays():
    lineup = line_up([DatedVersion(1), DatedVersion(2, NEXT_MONTH)], TODAY)
    assert lineup.retired == ()
    assert lineup.replaced_on == {1: NEXT_MONTH, 2: None}


def test_a_version_without_a_date_or_effective_today_replaces_at_once():
    assert line_up([DatedVersion(1), DatedVersion(2)], TODAY).retired == (1,)
    assert line_up([DatedVersion(1), DatedVersion(2, TODAY)], TODAY).retired == (1,)
    past = dt.date(2026, 6, 1)
    assert line_up([DatedVersion(1), DatedVersion(2, past)], TODAY).retired == (1,)


def test_a_scheduled_version_retires_the_old_one_once_its_day_has_come():
    lineup = line_up(
        [DatedVersion(1, None, None, NEXT_MONTH), DatedVersion(2, NEXT_MONTH)], NEXT_MONTH
    )
    assert lineup.retired == (1,)


def test_a_newer_upload_effective_earlier_cancels_a_scheduled_version_that_would_never_answer():
    february, january = dt.date(2027, 2, 1), dt.date(2027, 1, 10)
    versions = [DatedVersion(1), DatedVersion(2, february), DatedVersion(3, january)]
    lineup = line_up(versions, TODAY)
    assert lineup.retired == (2,)
    assert lineup.replaced_on[1] == january


def test_two_scheduled_versions_in_date_order_each_get_their_days():
    january, february = dt.date(2027, 1, 10), dt.date(2027, 2, 1)
    lineup = line_up([DatedVersion(1), DatedVersion(2, january), DatedVersion(3, february)], TODAY)
    assert lineup.retired == ()
    assert lineup.replaced_on == {1: january, 2: february, 3: None}


def test_status_on_either_side_of_the_switch():
    old = (None, None, NEXT_MONTH)
    new = (NEXT_MONTH, None, None)
    assert version_status(*old, TODAY) == DocumentStatus.CURRENT
    assert version_status(*new, TODAY) == DocumentStatus.NOT_YET_EFFECTIVE
    day_before = NEXT_MONTH - dt.timedelta(days=1)
    assert version_status(*old, day_before) == DocumentStatus.CURRENT
    assert version_status(*old, NEXT_MONTH) == DocumentStatus.SUPERSEDED
    assert version_status(*new, NEXT_MONTH) == DocumentStatus.CURRENT
    assert version_status(None, TODAY, None, TODAY) == DocumentStatus.CURRENT  # inclusive
    assert version_status(None, TODAY, None, NEXT_MONTH) == DocumentStatus.EXPIRED


def test_in_force_and_scheduled():
    versions = [DatedVersion(1, None, None, NEXT_MONTH), DatedVersion(2, NEXT_MONTH)]
    today = in_force(versions, TODAY)
    assert today is not None and today.version == 1
    later = in_force(versions, NEXT_MONTH)
    assert later is not None and later.version == 2
    scheduled = scheduled_after(versions, today, TODAY)
    assert scheduled is not None and (scheduled.version, scheduled.effective_date) == (
        2,
        NEXT_MONTH,
    )
    assert scheduled_after(versions, later, NEXT_MONTH) is None
    # A new document that only takes effect next month: it is the one shown, not scheduled.
    (only,) = [DatedVersion(1, NEXT_MONTH)]
    assert in_force([only], TODAY) == only
    assert scheduled_after([only], only, TODAY) is None
    assert in_force([], TODAY) is None


dates = st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2028, 1, 1))


@given(
    starts=st.lists(st.one_of(st.none(), dates), min_size=1, max_size=6),
    today=dates,
    as_of=dates,
)
def test_exactly_one_version_answers_on_any_day_once_one_has_started(starts, today, as_of):
    """Whatever the uploads, at most one kept version is in force on a day, and it is the
    newest one started: the timeline has no overlap."""
    versions = [DatedVersion(i + 1, start) for i, start in enumerate(starts)]
    lineup = line_up(versions, today)
    kept = [
        DatedVersion(v.version, v.effective_date, None, lineup.replaced_on[v.version])
        for v in versions
        if v.version not in lineup.retired
    ]
    assert kept and kept[-1].version == len(starts)  # the newest upload is never retired
    answering = [
        v
        for v in kept
        if version_status(v.effective_date, None, v.replaced_on, as_of) == DocumentStatus.CURRENT
    ]
    assert len(answering) <= 1
    if as_of >= today:
        chosen = in_force(kept, as_of)
        assert chosen is not None
        if answering:
            assert chosen == answering[0]

"""Which version of a document answers on a given day: the pure date logic of versions.

Every version carries its own dates: `effective_date` (from, inclusive; none: in force from
its upload) and `expiry_date` (through, inclusive). A new version whose effective date is
after today is *scheduled*: the version in force today stays answerable until that date and
the new one answers from it. So a document's live versions form a timeline, and each one
that a later version will replace holds `replaced_on`, the day the later one takes over (it
answers through the day before).

`line_up` places a document's live versions on that timeline after an upload or an edit;
`version_status` says what one version is on a day; `in_force` picks the version that
answers on a day. Nothing here reads a database or the clock: `today` is always passed in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from kb.types import DocumentStatus


@dataclass(frozen=True)
class DatedVersion:
    """A version's number and dates, as the timeline needs them."""

    version: int
    effective_date: dt.date | None = None
    expiry_date: dt.date | None = None
    replaced_on: dt.date | None = None  # a later version answers from this day


@dataclass(frozen=True)
class Lineup:
    """Where a document's live versions stand: for each version, the day a later one
    replaces it (None: nothing replaces it), and the versions retired now (their successor
    is in force today, or takes effect before they ever would)."""

    replaced_on: dict[int, dt.date | None]
    retired: tuple[int, ...]


def line_up(versions: Sequence[DatedVersion], today: dt.date) -> Lineup:
    """Place live versions on the timeline: each version is replaced on the earliest
    effective date of the versions uploaded after it (a later version without a date is in
    force from `today`). A version replaced on or before `today`, or on or before its own
    effective date (it would never answer), is retired."""
    ordered = sorted(versions, key=lambda v: v.version)
    replaced: dict[int, dt.date | None] = {}
    retired: list[int] = []
    for i, version in enumerate(ordered):
        later = [v.effective_date or today for v in ordered[i + 1 :]]
        replaced_on = min(later) if later else None
        shadowed = (
            replaced_on is not None
            and version.effective_date is not None
            and replaced_on <= version.effective_date
        )
        replaced[version.version] = replaced_on
        if replaced_on is not None and (replaced_on <= today or shadowed):
            retired.append(version.version)
    return Lineup(replaced, tuple(retired))


def version_status(
    effective_date: dt.date | None,
    expiry_date: dt.date | None,
    replaced_on: dt.date | None,
    as_of: dt.date,
) -> DocumentStatus:
    """What a version is on `as_of`: replaced by a later version (SUPERSEDED), not in force
    yet, expired, or in force (CURRENT). Dates are inclusive: in force from the effective
    date through the expiry date, and up to the day before `replaced_on`."""
    if replaced_on is not None and replaced_on <= as_of:
        return DocumentStatus.SUPERSEDED
    if effective_date is not None and effective_date > as_of:
        return DocumentStatus.NOT_YET_EFFECTIVE
    if expiry_date is not None and expiry_date < as_of:
        return DocumentStatus.EXPIRED
    return DocumentStatus.CURRENT


def in_force(versions: Sequence[DatedVersion], as_of: dt.date) -> DatedVersion | None:
    """The live version that answers on `as_of` (or would, but for its expiry date): the
    newest one that has started and is not replaced yet. When none has started (a new
    document scheduled for later), the first one to start; None without versions."""
    if not versions:
        return None
    started = [
        v
        for v in versions
        if version_status(v.effective_date, None, v.replaced_on, as_of)
        in (DocumentStatus.CURRENT, DocumentStatus.EXPIRED)
    ]
    if started:
        return max(started, key=lambda v: v.version)
    waiting = [v for v in versions if v.replaced_on is None or v.replaced_on > as_of]
    pool = waiting or list(versions)
    return min(pool, key=lambda v: (v.effective_date or dt.date.min, v.version))


def scheduled_after(
    versions: Sequence[DatedVersion], current: DatedVersion | None, as_of: dt.date
) -> DatedVersion | None:
    """The next version scheduled to replace `current` after `as_of`, if any."""
    if current is None or current.replaced_on is None or current.replaced_on <= as_of:
        return None
    later = [
        v
        for v in versions
        if v.version > current.version
        and v.effective_date is not None
        and v.effective_date > as_of
        and (v.replaced_on is None or v.replaced_on > v.effective_date)
    ]
    return min(later, key=lambda v: (v.effective_date, v.version)) if later else None

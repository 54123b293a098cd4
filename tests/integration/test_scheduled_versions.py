"""Versions carry their own dates (issue 12): a new version effective next month is
scheduled, and the version in force today keeps answering until that day."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from ingest.pipeline import Upload
from kb.registry import Registry
from kb.types import DocumentOptions, FileStatus, Query
from tests.conftest import GOOD
from tests.integration.test_document_lifecycle import lost_card_v2

pytestmark = pytest.mark.integration

FREEZE = "how do I freeze a lost debit card"


def _answer_versions(answer) -> set[int]:  # type: ignore[no-untyped-def]
    cited = [p.citation for p in answer.passages] + [s.citation for s in answer.steps]
    return {c.version for c in cited if c.document_id == "procedure"}


def _schedule_v2(services, tmp_path, effective: dt.date):  # type: ignore[no-untyped-def]
    first = services.ingest_paths([GOOD / "procedure.docx"]).files[0]
    data = lost_card_v2(tmp_path / "debit-card-loss-2027.docx")
    report = services.ingest(
        [Upload("debit-card-loss-2027.docx", data=data)],
        DocumentOptions(replaces=first.document_id, effective_date=effective),
        user="kim",
    )
    return first, report.files[0]


@pytest.mark.security
def test_a_version_effective_next_month_leaves_todays_version_answering(services, tmp_path):
    """Attack: replace a procedure with a version effective next month; the version in force today vanished from search"""
    today = dt.date.today()
    next_month = today + dt.timedelta(days=31)
    first, second = _schedule_v2(services, tmp_path, next_month)
    assert (second.status, second.document_id, second.version) == (
        FileStatus.UPDATED, first.document_id, 2,
    )  # fmt: skip

    now = services.ask(Query(FREEZE))
    assert _answer_versions(now) == {1}
    assert not any("CardLink Next" in s.text for s in now.steps)
    assert any("takes effect on" in n for n in now.notices)  # v2 is flagged, not used

    later = services.ask(Query(FREEZE, as_of=next_month))
    assert _answer_versions(later) == {2}
    assert any("CardLink Next" in s.text for s in later.steps)
    day_before = services.ask(Query(FREEZE, as_of=next_month - dt.timedelta(days=1)))
    assert _answer_versions(day_before) == {1}

    # The listing shows what answers today and what is scheduled.
    (record,) = services.kb.registry.documents()
    assert (record.current_version, record.scheduled_version) == (1, 2)
    assert record.scheduled_from == next_month
    v1_effective = dt.date(2025, 3, 1)  # written in procedure.docx
    assert record.effective_date == v1_effective  # v1's own date, not v2's
    detail = services.kb.registry.document(first.document_id)
    assert [(v.version, v.status, v.replaced_on, v.effective_date) for v in detail.versions] == [
        (1, "current", next_month, v1_effective),
        (2, "current", None, next_month),
    ]
    (on_the_day,) = services.kb.registry.documents(today=next_month)
    assert (on_the_day.current_version, on_the_day.scheduled_version) == (2, None)
    assert on_the_day.effective_date == next_month

    # The index holds both versions while v1 is in force.
    registry = services.kb.registry
    v1, v2 = registry.chunk_ids("procedure", 1), registry.chunk_ids("procedure", 2)
    assert set(services.kb.index.ids) == set(v1) | set(v2)


def test_on_the_day_the_old_version_retires_from_the_index(services, tmp_path):
    next_month = dt.date.today() + dt.timedelta(days=31)
    _schedule_v2(services, tmp_path, next_month)
    registry = services.kb.registry
    v2 = registry.chunk_ids("procedure", 2)
    # What every write does first thing on or after the day (KnowledgeBase.write).
    with services.kb.write() as session:
        retired = session.registry.line_up_versions(next_month)
        session.index.delete(retired)
        session.changed = True
    assert retired == registry.chunk_ids("procedure", 1)
    assert set(services.kb.index.ids) == set(v2)
    statuses = [v.status for v in registry.document("procedure").versions]
    assert statuses == ["superseded", "current"]
    answer = services.ask(Query(FREEZE, as_of=next_month))
    assert _answer_versions(answer) == {2}


def test_a_version_without_a_future_date_replaces_at_once(services, tmp_path):
    first = services.ingest_paths([GOOD / "procedure.docx"]).files[0]
    data = lost_card_v2(tmp_path / "debit-card-loss-2027.docx")
    services.ingest(
        [Upload("debit-card-loss-2027.docx", data=data)],
        DocumentOptions(replaces=first.document_id, effective_date=dt.date.today()),
    )
    registry = services.kb.registry
    assert set(services.kb.index.ids) == set(registry.chunk_ids("procedure", 2))
    assert _answer_versions(services.ask(Query(FREEZE))) == {2}
    (record,) = registry.documents()
    assert (record.current_version, record.scheduled_version) == (2, None)


def test_deleting_a_document_takes_its_scheduled_version_out_too(services, tmp_path):
    _schedule_v2(services, tmp_path, dt.date.today() + dt.timedelta(days=31))
    with services.kb.write() as session:
        session.index.delete(session.registry.mark_deleted("procedure"))
        session.changed = True
    assert len(services.kb.index) == 0
    assert {v.status for v in services.kb.registry.document("procedure").versions} == {"deleted"}


def test_a_registry_from_before_version_dates_is_migrated_in_place(tmp_path):
    """A base whose dates lived on documents opens: its versions get the document's dates."""
    path = tmp_path / "registry.sqlite"
    Registry(path).close()
    db = sqlite3.connect(path)
    for column in ("effective_date", "expiry_date", "replaced_on"):
        db.execute(f"ALTER TABLE versions DROP COLUMN {column}")
    db.execute(
        "INSERT INTO documents VALUES ('a', 'a.md', 'A', 'a.md', 'md', 'en', 'faq', "
        "'2026-01-01', '2030-12-31', '[\"everyone\"]', NULL, NULL, 1, 'x', 'x')"
    )
    db.execute(
        "INSERT INTO versions VALUES ('a', 1, 'h', 'a.md', 'md', 'current', 'x', 0, NULL, 1, NULL)"
    )
    db.commit()
    db.close()
    registry = Registry(path)
    (record,) = registry.documents()
    assert (record.effective_date, record.expiry_date) == (
        dt.date(2026, 1, 1),
        dt.date(2030, 12, 31),
    )
    assert registry.document_info("a").effective_date == dt.date(2026, 1, 1)
    registry.close()
    Registry(path).close()  # opening again changes nothing


def test_uploading_the_scheduled_file_again_with_another_date_moves_the_switch(services, tmp_path):
    today = dt.date.today()
    first, _ = _schedule_v2(services, tmp_path, today + dt.timedelta(days=31))
    data = (tmp_path / "debit-card-loss-2027.docx").read_bytes()
    later = today + dt.timedelta(days=60)
    again = services.ingest(
        [Upload("debit-card-loss-2027.docx", data=data)],
        DocumentOptions(replaces=first.document_id, effective_date=later),
    ).files[0]
    assert (again.status, again.version, again.reason) == (
        FileStatus.UPDATED,
        2,
        "metadata changed",
    )
    (record,) = services.kb.registry.documents()
    assert (record.current_version, record.scheduled_version, record.scheduled_from) == (
        1,
        2,
        later,
    )
    assert _answer_versions(services.ask(Query(FREEZE, as_of=today + dt.timedelta(days=40)))) == {1}
    assert _answer_versions(services.ask(Query(FREEZE, as_of=later))) == {2}

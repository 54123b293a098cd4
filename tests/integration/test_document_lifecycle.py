"""Owner, review-by date and explicit replacement: what the knowledge team states at upload
and how a document gets a new version under a different file name."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys

import docx
import pytest

from ingest.pipeline import Upload
from kb.access import OPERATOR
from kb.registry import Registry
from kb.types import DocumentOptions, FileStatus, Query
from tests.conftest import GOOD, REPO

pytestmark = pytest.mark.integration


def lost_card_v2(path) -> bytes:  # type: ignore[no-untyped-def]
    """A rewritten lost-card procedure, saved under a new file name as the bank would."""
    document = docx.Document()
    document.add_heading("Reporting a Lost or Stolen Debit Card", level=1)
    document.add_heading("Procedure", level=2)
    for step in (
        "Verify the caller with the two-factor voice check.",
        "Freeze the card in CardLink Next; the old CardLink screen is retired.",
        "Order a replacement card by tracked courier.",
    ):
        document.add_paragraph(step, style="List Number")
    document.save(path)
    return path.read_bytes()


def test_replacing_a_document_under_another_name_makes_a_new_version(services, tmp_path):
    first = services.ingest_paths([GOOD / "procedure.docx"]).files[0]
    data = lost_card_v2(tmp_path / "debit-card-loss-2027.docx")
    report = services.ingest(
        [Upload("debit-card-loss-2027.docx", data=data)],
        DocumentOptions(replaces=first.document_id),
        user="kim",
    )
    outcome = report.files[0]
    assert (outcome.status, outcome.document_id, outcome.version) == (
        FileStatus.UPDATED, first.document_id, 2,
    )  # fmt: skip
    record = services.document(first.document_id, reader=OPERATOR)
    assert [v.status for v in record.versions] == ["superseded", "current"]
    assert record.source_name == "debit-card-loss-2027.docx"
    answer = services.ask(Query("how do I freeze a lost debit card"))
    assert any("CardLink Next" in s.text for s in answer.steps)
    assert len(services.documents(reader=OPERATOR)) == 1
    # The old file name still means this document: uploading it again is a new version.
    again = services.ingest_paths([GOOD / "procedure.docx"]).files[0]
    assert (again.document_id, again.version) == (first.document_id, 3)
    assert services.audit.events(user="kim", action="version_change")


def test_replacing_an_unknown_document_fails_with_a_reason_and_keeps_the_batch(services):
    report = services.ingest(
        [Upload("procedure.docx", data=(GOOD / "procedure.docx").read_bytes())],
        DocumentOptions(replaces="no-such-document"),
    )
    assert report.files[0].status == FileStatus.FAILED
    assert "no document with id 'no-such-document'" in report.files[0].reason
    assert services.documents(reader=OPERATOR) == []


def test_owner_and_review_by_are_stored_kept_and_edited(services):
    review = dt.date(2026, 1, 31)
    services.ingest_paths(
        [GOOD / "procedure.docx"], DocumentOptions(owner="Cards Operations", review_by=review)
    )
    record = services.document("procedure", reader=OPERATOR)
    assert (record.owner, record.review_by) == ("Cards Operations", review)
    # Same bytes, a new review date: the metadata changes, no new version.
    later = dt.date(2027, 1, 31)
    outcome = services.ingest_paths([GOOD / "procedure.docx"], DocumentOptions(review_by=later))
    assert outcome.files[0].status == FileStatus.UPDATED
    assert outcome.files[0].reason == "metadata changed"
    assert services.document("procedure", reader=OPERATOR).review_by == later
    assert services.document("procedure", reader=OPERATOR).current_version == 1
    # An edit form with every field: an emptied review date clears it, and is audited.
    info = services.update_metadata(
        "procedure", DocumentOptions(groups=("everyone",)), user="kim", exact=True, reader=OPERATOR
    )
    assert (info.review_by, info.owner) == (None, None)
    edit = services.audit.events(user="kim", action="metadata_edit")[0]
    assert set(edit.details) >= {"document", "review_by", "owner"}


def test_manifest_states_owner_and_review_by(services, tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "guide.md").write_bytes((GOOD / "guide.md").read_bytes())
    (folder / "kb-manifest.csv").write_text(
        "file,review_by,owner\nguide.md,2026-10-01,Digital Banking\n", encoding="utf-8"
    )
    services.ingest_paths([folder])
    (record,) = services.documents(reader=OPERATOR)
    assert (record.owner, record.review_by) == ("Digital Banking", dt.date(2026, 10, 1))


def test_a_registry_from_before_review_dates_is_migrated_in_place(tmp_path):
    path = tmp_path / "registry.sqlite"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE documents (document_id TEXT PRIMARY KEY, source_key TEXT NOT NULL UNIQUE, "
        "title TEXT NOT NULL, source_name TEXT NOT NULL, format TEXT NOT NULL, language TEXT NOT NULL, "
        "category TEXT NOT NULL, effective_date TEXT, expiry_date TEXT, groups_json TEXT NOT NULL, "
        "owner TEXT, current_version INTEGER, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)"
    )
    old.execute(
        "INSERT INTO documents VALUES ('a', 'a.md', 'A', 'a.md', 'md', 'en', 'faq', NULL, NULL, "
        "'[\"everyone\"]', NULL, NULL, 'x', 'x')"
    )
    old.commit()
    old.close()
    registry = Registry(path)
    (record,) = registry.documents(include_deleted=True)
    assert record.title == "A" and record.review_by is None
    registry.close()


def test_cli_replaces_and_shows_the_review_date(tmp_path, monkeypatch):
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path / "kb"))
    kb = [sys.executable, "-m", "kb.cli"]
    run = lambda *args: subprocess.run([*kb, *args], capture_output=True, text=True, cwd=REPO)  # noqa: E731
    assert run("ingest", str(GOOD / "guide.md"), "--no-progress").returncode == 0
    changed = tmp_path / "online-guide-v2.md"
    changed.write_text((GOOD / "guide.md").read_text(encoding="utf-8") + "\n\nNew: passkeys.\n")
    replaced = run(
        "ingest", str(changed), "--replaces", "guide", "--review-by", "2027-02-28", "--no-progress"
    )
    assert replaced.returncode == 0, replaced.stderr
    assert "updated" in replaced.stdout
    shown = run("docs", "show", "guide")
    assert "review by: 2027-02-28" in shown.stdout and "v2 current" in shown.stdout
    two = run("ingest", str(changed), str(GOOD / "notes.txt"), "--replaces", "guide")
    assert two.returncode == 2 and "exactly one file" in two.stderr

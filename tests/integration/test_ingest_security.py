"""Attacks on ingestion, through the service every interface calls (real model, real parsers).

Each test says what was tried and what must hold; they are marked `security`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.pipeline import Upload
from kb.access import OPERATOR
from kb.types import FileStatus
from tests.bad_inputs import many_pages_pdf, office_bomb, office_with_parts
from tests.conftest import REPO

pytestmark = pytest.mark.integration

PLAYBOOK = "# Fraud investigations playbook\n\nFreeze the account under code FR-7731 and call the fraud desk.\n"
OPEN_GUIDE = "# Branch opening hours\n\nBranches open at 09:30 on weekdays and close at 16:00.\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def governed_folder(root: Path) -> Path:
    folder = root / "bank" / "kb"
    write(folder / "playbook.md", PLAYBOOK)
    write(folder / "hours.md", OPEN_GUIDE)
    write(folder / "kb-manifest.csv", "file,groups\nplaybook.md,fraud-team\nhours.md,everyone\n")
    return folder


def groups_by_source(services) -> dict[str, tuple[str, ...]]:  # type: ignore[no-untyped-def]
    return {d.source_name: d.groups for d in services.documents(reader=OPERATOR)}


def texts_found(services, question: str) -> str:  # type: ignore[no-untyped-def]
    return " ".join(chunk.text for chunk, _ in services.search(question, 10, reader=OPERATOR))


# ------------------------------------------------------------------ the manifest governs


@pytest.mark.security
def test_ingesting_one_restricted_file_keeps_it_restricted(services, tmp_path):
    """Attack: `kb ingest folder/playbook.md`, one file alone; its folder's manifest must still restrict it."""
    folder = governed_folder(tmp_path)
    report = services.ingest_paths([folder / "playbook.md"])
    assert [f.status for f in report.files] == [FileStatus.ADDED]
    assert groups_by_source(services) == {"playbook.md": ("fraud-team",)}


@pytest.mark.security
def test_ingesting_a_parent_folder_keeps_the_manifest_and_never_indexes_it(services, tmp_path):
    """Attack: ingest a parent of the governed folder; the manifest must apply and never become a document."""
    governed_folder(tmp_path)
    report = services.ingest_paths([tmp_path / "bank"])
    assert sorted(f.source_name for f in report.files) == ["kb/hours.md", "kb/playbook.md"]
    assert groups_by_source(services) == {
        "kb/playbook.md": ("fraud-team",),
        "kb/hours.md": ("everyone",),
    }
    assert "playbook.md,fraud-team" not in texts_found(services, "file groups playbook fraud-team")


@pytest.mark.security
def test_the_sample_playbook_alone_stays_with_the_fraud_team(services):
    """Attack: `kb ingest samples/fraud-investigations-playbook.docx`; it must stay fraud-team only."""
    services.ingest_paths([REPO / "samples" / "fraud-investigations-playbook.docx"])
    (document,) = services.documents(reader=OPERATOR)
    assert (document.document_id, document.groups) == (
        "fraud-investigations-playbook",
        ("fraud-team",),
    )


@pytest.mark.security
def test_a_file_the_manifest_forgot_is_closed_and_reported(services, tmp_path):
    """Attack: drop a file the manifest does not list into a governed folder; it must get the default group, not everyone, and be reported."""
    folder = governed_folder(tmp_path)
    write(folder / "new-procedure.md", "# New procedure\n\nAsk for the reference number first.\n")
    report = services.ingest_paths([folder])
    outcome = {f.source_name: f for f in report.files}["new-procedure.md"]
    assert outcome.status == FileStatus.ADDED
    assert "default group 'unclassified'" in (outcome.reason or "")
    assert groups_by_source(services)["new-procedure.md"] == ("unclassified",)


@pytest.mark.security
def test_an_uploaded_manifest_applies_to_its_batch_and_is_not_a_document(services):
    """Attack: upload kb-manifest.csv with the files in the Library; it must govern them and never be searchable."""
    report = services.ingest(
        [
            Upload("playbook.md", data=PLAYBOOK.encode()),
            Upload("kb-manifest.csv", data=b"file,groups\nplaybook.md,fraud-team\n"),
        ]
    )
    assert [f.source_name for f in report.files] == ["playbook.md"]
    assert groups_by_source(services) == {"playbook.md": ("fraud-team",)}


# ------------------------------------------------------------------ identity


@pytest.mark.security
def test_same_name_in_two_subfolders_are_two_documents(services, tmp_path):
    """Attack: two procedure.md files in different subfolders; neither may supersede the other."""
    write(tmp_path / "docs" / "cards" / "procedure.md", PLAYBOOK)
    write(tmp_path / "docs" / "loans" / "procedure.md", OPEN_GUIDE)
    report = services.ingest_paths([tmp_path / "docs"])
    assert [f.status for f in report.files] == [FileStatus.ADDED, FileStatus.ADDED]
    assert sorted(d.document_id for d in services.documents(reader=OPERATOR)) == [
        "cards-procedure",
        "loans-procedure",
    ]


@pytest.mark.security
def test_an_upload_named_with_dot_dots_cannot_supersede_a_document(services):
    """Attack: upload '../../hours.md' after 'hours.md'; the document must stay as it was."""
    first = services.ingest([Upload("hours.md", data=OPEN_GUIDE.encode())]).files[0]
    report = services.ingest([Upload("../../hours.md", data=PLAYBOOK.encode())])
    assert report.files[0].status == FileStatus.FAILED
    record = services.document(first.document_id, reader=OPERATOR)
    assert record.current_version == 1 and len(services.documents(reader=OPERATOR)) == 1


# ------------------------------------------------------------------ links


@pytest.mark.security
def test_a_link_to_a_system_file_is_refused_and_reported(services, tmp_path):
    """Attack: a symlink to /etc/passwd (plus a dangling link and a loop) in an ingested folder; none may be read, each must be reported."""
    folder = tmp_path / "docs"
    write(folder / "hours.md", OPEN_GUIDE)
    (folder / "passwd.txt").symlink_to("/etc/passwd")
    (folder / "gone.md").symlink_to(folder / "missing.md")
    (folder / "loop").symlink_to(folder)
    report = services.ingest_paths([folder])
    outcome = {f.source_name: f for f in report.files}
    assert outcome["hours.md"].status == FileStatus.ADDED
    for name in ("passwd.txt", "gone.md", "loop"):
        assert outcome[name].status == FileStatus.FAILED, name
        assert "symbolic link" in (outcome[name].reason or ""), name
    assert [d.source_name for d in services.documents(reader=OPERATOR)] == ["hours.md"]
    assert "root:" not in texts_found(services, "root bin daemon nologin")


# ------------------------------------------------------------------ limits


@pytest.fixture(scope="module")
def hostile_batch(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    for name in ("bomb.docx", "bomb.pptx", "bomb.xlsx"):
        office_bomb(folder / name)
    office_with_parts(folder / "parts.docx")
    many_pages_pdf(folder / "pages.pdf")
    write(folder / "hours.md", OPEN_GUIDE)
    return folder


@pytest.mark.security
def test_zip_bombs_and_page_bombs_are_refused_and_the_batch_goes_on(services, hostile_batch):
    """Attack: Office zip bombs (300 MB of zeros in 0.3 MB), 12,000-part Office files and a 2,500-page PDF in one batch; each must be refused before parsing and the good file ingested."""
    report = services.ingest_paths([hostile_batch])
    outcome = {f.source_name: f for f in report.files}
    assert outcome["hours.md"].status == FileStatus.ADDED
    for name in ("bomb.docx", "bomb.pptx", "bomb.xlsx"):
        assert outcome[name].status == FileStatus.FAILED, name
        assert "KB_MAX_UNZIPPED_MB" in (outcome[name].reason or ""), name
    assert "KB_MAX_ZIP_ENTRIES" in (outcome["parts.docx"].reason or "")
    assert "KB_MAX_PDF_PAGES" in (outcome["pages.pdf"].reason or "")
    assert [d.source_name for d in services.documents(reader=OPERATOR)] == ["hours.md"]

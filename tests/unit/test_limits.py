"""Parsing limits checked from headers alone, and the worker process's memory cap and timeout."""

from __future__ import annotations

import pytest

from ingest.limits import LimitExceededError, ParseLimits, check_limits, count_pdf_pages
from ingest.worker import ParserWorker, decode_document, encode_document
from kb.errors import DocumentError, UnsupportedFormatError
from kb.types import Block, BlockKind, ParsedDocument
from tests.bad_inputs import many_pages_pdf, office_bomb, office_with_parts
from tests.conftest import GOOD

NOTES = (GOOD / "notes.txt").read_bytes()


def test_good_office_files_and_pdfs_pass():
    for name in ("procedure.docx", "deck.pptx", "fees.xlsx", "policy.pdf", "zh_procedure.pdf"):
        check_limits((GOOD / name).read_bytes(), name.rsplit(".", 1)[1], ParseLimits())


def test_unpacked_size_is_read_from_the_archive_without_unpacking(tmp_path):
    bomb = office_bomb(tmp_path / "bomb.docx", unpacked_mb=30).read_bytes()
    assert len(bomb) < 200_000
    check_limits(bomb, "docx", ParseLimits(max_unzipped_mb=40))
    with pytest.raises(LimitExceededError, match="KB_MAX_UNZIPPED_MB"):
        check_limits(bomb, "docx", ParseLimits(max_unzipped_mb=20))


def test_part_count_is_limited(tmp_path):
    data = office_with_parts(tmp_path / "parts.xlsx", parts=300).read_bytes()
    check_limits(data, "xlsx", ParseLimits(max_zip_entries=400))
    with pytest.raises(LimitExceededError, match="KB_MAX_ZIP_ENTRIES"):
        check_limits(data, "xlsx", ParseLimits(max_zip_entries=100))


def test_pdf_pages_are_counted_before_parsing(tmp_path):
    data = many_pages_pdf(tmp_path / "pages.pdf", pages=30).read_bytes()
    assert count_pdf_pages(data) == 30
    check_limits(data, "pdf", ParseLimits(max_pdf_pages=30))
    with pytest.raises(LimitExceededError, match=r"30 pages.*KB_MAX_PDF_PAGES"):
        check_limits(data, "pdf", ParseLimits(max_pdf_pages=29))


def test_a_damaged_pdf_is_estimated_not_trusted(tmp_path):
    data = many_pages_pdf(tmp_path / "pages.pdf", pages=40).read_bytes()
    damaged = data.replace(b"startxref", b"startxrex").replace(b"/Root 1 0 R", b"")
    assert count_pdf_pages(damaged) >= 40


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match="max_pdf_pages must be greater than 0"):
        ParseLimits(max_pdf_pages=0)


def test_documents_cross_the_process_border_as_json():
    import datetime as dt

    document = ParsedDocument(
        "a.pdf",
        "pdf",
        "Title",
        (
            Block(BlockKind.TITLE, "Title", 1, 1),
            Block(BlockKind.TABLE, "t", 2, 1, (("a", "b"), ("1", "2"))),
        ),
        "en",
        2,
        dt.date(2026, 1, 2),
        None,
        "Owner",
        (("sheet", "Fees"),),
    )
    assert decode_document(encode_document(document)) == document


@pytest.fixture(scope="module")
def worker():
    built = ParserWorker(memory_mb=3072, timeout_seconds=300)
    yield built
    built.close()


def test_the_worker_parses_and_is_reused(worker):
    parsed = worker.parse(NOTES, "notes.txt", max_bytes=10_000_000, limits=ParseLimits())
    again = worker.parse(NOTES, "notes.txt", max_bytes=10_000_000, limits=ParseLimits())
    assert parsed == again and parsed.blocks
    assert worker.started == 1


def test_a_file_sent_ahead_is_collected_later_or_discarded(worker):
    text = (GOOD / "guide.md").read_bytes()
    worker.submit(text, "guide.md", max_bytes=10_000_000, limits=ParseLimits())
    assert worker.busy
    worker.submit(NOTES, "notes.txt", max_bytes=10_000_000, limits=ParseLimits())  # drops guide
    parsed = worker.collect()
    assert parsed.source_name == "notes.txt" and not worker.busy
    worker.submit(text, "guide.md", max_bytes=10_000_000, limits=ParseLimits())
    worker.discard()
    assert not worker.busy and worker.started == 1


def test_the_workers_errors_come_back_as_domain_errors(worker, tmp_path):
    with pytest.raises(UnsupportedFormatError, match="web page"):
        worker.parse(b"<!DOCTYPE html><p>x", "x.pdf", max_bytes=1000, limits=ParseLimits())
    bomb = office_bomb(tmp_path / "bomb.pptx", unpacked_mb=5).read_bytes()
    with pytest.raises(LimitExceededError, match="KB_MAX_UNZIPPED_MB"):
        worker.parse(bomb, "bomb.pptx", max_bytes=10_000_000, limits=ParseLimits(max_unzipped_mb=1))
    assert worker.started == 1, "a refused file does not cost a new process"


@pytest.mark.security
def test_a_parse_that_needs_too_much_memory_fails_in_the_child_only():
    """Attack: a file whose parsing exhausts memory; the parser process must hit its cap, the file fail with a reason, the caller go on."""
    small = ParserWorker(memory_mb=150, timeout_seconds=120)
    try:
        with pytest.raises(DocumentError, match="memory"):
            small.parse(NOTES, "notes.txt", max_bytes=10_000_000, limits=ParseLimits())
    finally:
        small.close()


@pytest.mark.security
def test_a_parse_that_takes_too_long_is_stopped_and_the_next_file_gets_a_new_process():
    """Attack: a file the parser spends minutes on; it must be stopped at the timeout and the worker replaced."""
    slow = ParserWorker(memory_mb=3072, timeout_seconds=0.05)
    try:
        with pytest.raises(DocumentError, match="KB_PARSE_TIMEOUT_SECONDS"):
            slow.parse(NOTES, "notes.txt", max_bytes=10_000_000, limits=ParseLimits())
        assert slow._process is None, "the stuck process is gone"
        slow.timeout_seconds = 300
        assert slow.parse(NOTES, "notes.txt", max_bytes=10_000_000, limits=ParseLimits()).blocks
        assert slow.started == 2
    finally:
        slow.close()

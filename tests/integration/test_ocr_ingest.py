"""Scanned documents through the real pipeline: OCR in the parser worker, then `ask`.

One knowledge base for the module, built once per session and shared with the Library's page
test (OCR takes seconds a page on 2 cores): the scanned rate sheet (fees on page 2), a mixed
PDF (page 1 text, page 2 scanned) and a Simplified Chinese scan as a PNG, ingested as `kb
ingest` does. Then a batch with a damaged JPEG in it.
"""

from __future__ import annotations

import shutil

import pytest

from kb.access import OPERATOR
from kb.config import Settings
from kb.services import Services
from kb.store import KnowledgeBase
from kb.types import FileStatus, Query
from tests.conftest import APP_USERS, GOOD, SCAN_FILES, SCANS, copy_kb

pytestmark = pytest.mark.integration

FILES = tuple(path.name for path in SCAN_FILES)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory, kb_template, embedder):
    data_dir = copy_kb(kb_template(SCAN_FILES, APP_USERS), tmp_path_factory.mktemp("ocr") / "kb")
    settings = Settings(data_dir=data_dir)
    services = Services(settings, KnowledgeBase(settings, embedder))
    yield services
    services.close()


@pytest.fixture(scope="module")
def damaged_batch(scanned, tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch")
    data = (SCANS / "zh-hant-atm.jpg").read_bytes()
    (folder / "broken.jpg").write_bytes(data[: len(data) // 3])  # a scan cut off in transfer
    shutil.copy(GOOD / "notes.txt", folder / "notes.txt")
    return scanned.ingest_paths([folder])


def by_file(services):
    return {d.source_name: d for d in services.documents(reader=OPERATOR)}


def answer_text(answer) -> str:
    return " ".join(
        [h.text for h, _ in answer.sentences] + [p.text.text for p in answer.passages[:3]]
    )


def test_a_damaged_image_is_reported_and_the_rest_of_the_batch_ingests(damaged_batch):
    outcome = {f.source_name: f for f in damaged_batch.files}
    assert outcome["broken.jpg"].status == FileStatus.FAILED
    assert "damaged" in (outcome["broken.jpg"].reason or "")
    assert outcome["notes.txt"].status == FileStatus.ADDED


def test_scanned_pages_keep_their_numbers_and_confidence(scanned):
    documents = by_file(scanned)
    rate_sheet = documents["rate-sheet-scan.pdf"]
    assert [p.page for p in rate_sheet.ocr_pages] == [1, 2]
    assert all(0.5 < p.confidence <= 1 for p in rate_sheet.ocr_pages)
    # the mixed PDF: page 1 had a text layer, only page 2 went through OCR
    assert [p.page for p in documents["mixed-text-and-scan.pdf"].ocr_pages] == [2]
    image = documents["zh-hans-remittance.png"]
    assert (image.format, image.language, [p.page for p in image.ocr_pages]) == ("png", "zh", [1])


def test_a_fee_read_from_the_scan_is_answered_and_cited_on_its_page(scanned):
    answer = scanned.ask(Query("What is the fee for a CHAPS outgoing payment?"))
    assert "27.00" in answer_text(answer)
    cited = [c for _, c in answer.sentences] or [p.citation for p in answer.passages]
    top = cited[0]
    assert (top.source_name, top.pages) == ("rate-sheet-scan.pdf", (2,))


def test_a_chinese_scan_is_answered_with_its_fee(scanned):
    answer = scanned.ask(Query("跨境汇款手续费是多少？"))
    assert "150" in answer_text(answer)
    top = answer.passages[0].citation
    assert (top.source_name, top.pages) == ("zh-hans-remittance.png", (1,))


def test_the_text_page_of_a_mixed_pdf_is_not_read_again(scanned):
    answer = scanned.ask(Query("How much is a large safe deposit box a year?"))
    assert "160" in answer_text(answer)
    assert answer.passages[0].citation.pages == (2,)
    hours = scanned.ask(Query("When are branches open on Saturday?"))
    assert hours.passages[0].citation.pages == (1,)

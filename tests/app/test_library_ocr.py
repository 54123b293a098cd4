"""The Library marks a scanned document: its OCR confidence in the table, and under its
title how many pages were read by OCR and which ones to check against the original."""

from __future__ import annotations

import pytest

from kb.access import OPERATOR
from tests.app.conftest import open_page
from tests.conftest import APP_USERS, SCAN_FILES, copy_kb

pytestmark = pytest.mark.integration


@pytest.fixture
def scanned_base(request, kb_template, settings, monkeypatch):
    """The scans the OCR integration test reads (one base for both, built once)."""
    # every page under 0.999 is flagged, so every scanned page must be
    monkeypatch.setenv("KB_OCR_REVIEW_CONFIDENCE", "0.999")
    copy_kb(kb_template(SCAN_FILES, APP_USERS), settings.data_dir)
    return request.getfixturevalue("served")


def test_library_marks_scans_with_their_confidence_and_pages_to_review(scanned_base):
    records = {d.document_id: d for d in scanned_base.documents(reader=OPERATOR)}
    mean = {
        i: f"{sum(p.confidence for p in d.ocr_pages) / len(d.ocr_pages):.2f}"
        for i, d in records.items()
    }
    library = open_page(scanned_base, "library", "kim")
    assert not library.exception
    table = library.dataframe[0].value
    assert dict(zip(table["Id"], table["Scan"], strict=True)) == {
        i: f"scanned, OCR confidence {m}" for i, m in mean.items()
    }
    document = next(s for s in library.selectbox if s.label == "Document")
    document.set_value("rate-sheet-scan").run()  # both pages scanned, both under 0.999
    captions = [c.value for c in library.caption]
    low = min(p.confidence for p in records["rate-sheet-scan"].ocr_pages)
    assert (
        f"Scanned: 2 of 2 pages read by OCR, confidence mean {mean['rate-sheet-scan']}, "
        f"lowest {low:.2f}." in captions
    ), captions
    warnings = [w.value for w in library.warning]
    assert any("Check against the original: page 1, 2 read" in w for w in warnings), warnings

    document = next(s for s in library.selectbox if s.label == "Document")
    document.set_value("mixed-text-and-scan").run()  # page 1 has a text layer
    assert any(c.value.startswith("Scanned: 1 of 2 pages") for c in library.caption)

    chinese = open_page(scanned_base, "library", "kim", language="zh")
    column = chinese.dataframe[0].value["扫描"]
    assert sorted(column) == sorted(f"扫描件，OCR 置信度 {m}" for m in mean.values())

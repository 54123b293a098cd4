"""The Library marks a scanned document: its OCR confidence in the table, and under its
title how many pages were read by OCR and which ones to check against the original."""

from __future__ import annotations

import pytest

from kb.access import OPERATOR
from tests.app.conftest import open_page
from tests.conftest import REPO, copy_kb

pytestmark = pytest.mark.integration

SCAN = REPO / "tests" / "fixtures" / "scans" / "zh-hans-remittance.png"
USERS = (("kim", "knowledge", "knowledge-passphrase"),)


@pytest.fixture
def scanned_base(request, kb_template, settings, monkeypatch):
    # every page under 0.999 is flagged, so the one scanned page must be
    monkeypatch.setenv("KB_OCR_REVIEW_CONFIDENCE", "0.999")
    copy_kb(kb_template((SCAN,), USERS), settings.data_dir)
    return request.getfixturevalue("served")


def test_library_marks_the_scan_with_its_confidence_and_pages_to_review(scanned_base):
    record = scanned_base.documents(reader=OPERATOR)[0]
    confidence = f"{record.ocr_pages[0].confidence:.2f}"
    library = open_page(scanned_base, "library", "kim")
    assert not library.exception
    table = library.dataframe[0].value
    assert list(table["Scan"]) == [f"scanned, OCR confidence {confidence}"]
    captions = [c.value for c in library.caption]
    assert any(
        c.startswith(f"Scanned: 1 of 1 pages read by OCR, confidence mean {confidence}")
        for c in captions
    ), captions
    warnings = [w.value for w in library.warning]
    assert any("Check against the original: page 1" in w for w in warnings), warnings

    chinese = open_page(scanned_base, "library", "kim", language="zh")
    assert list(chinese.dataframe[0].value["扫描"]) == [f"扫描件，OCR 置信度 {confidence}"]

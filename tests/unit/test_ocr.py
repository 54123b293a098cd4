"""The pure parts of OCR: which pages are scans, lines and blocks from the engine's boxes,
confidence per page and per document, image formats, and the time a scan is allowed."""

from __future__ import annotations

import pytest

from ingest.limits import ParseLimits
from ingest.ocr import (
    MIN_TEXT_CHARS,
    OcrBox,
    blocks_from_boxes,
    detect_image_format,
    group_lines,
    needs_ocr,
    page_confidence,
    summarize,
)
from ingest.sniff import detect_format
from ingest.worker import ocr_allowance_seconds
from kb.errors import CorruptDocumentError, UnsupportedFormatError
from kb.types import BlockKind, PageConfidence


def box(text: str, top: float, left: float = 100, height: float = 30, score: float = 0.95):
    return OcrBox(text, score, left, top, left + 20 * len(text), top + height, height)


def test_a_page_is_scanned_when_it_shows_an_image_and_has_no_real_text_layer():
    assert needs_ocr(0, has_image=True)
    assert needs_ocr(MIN_TEXT_CHARS - 1, has_image=True)  # a stray page number
    assert not needs_ocr(MIN_TEXT_CHARS, has_image=True)  # a text page with a logo
    assert not needs_ocr(0, has_image=False)  # a blank page: nothing to read


def test_page_confidence_weighs_lines_by_their_characters():
    long_line = box("CHAPS outgoing payment fee: GBP 27.00", 100, score=0.9)
    stamp = box("PAID", 900, score=0.5)
    assert page_confidence([long_line, stamp]) == pytest.approx(
        (0.9 * 37 + 0.5 * 4) / 41
    )  # the stamp barely moves it
    assert page_confidence([]) == 0.0
    assert page_confidence([box("   ", 10)]) == 0.0


def test_summary_gives_mean_lowest_and_the_pages_to_review():
    pages = (PageConfidence(1, 0.95), PageConfidence(2, 0.62), PageConfidence(3, 0.88))
    summary = summarize(pages, review_below=0.85)
    assert summary is not None
    assert summary.scanned_pages == 3
    assert summary.mean_confidence == pytest.approx(0.8166, abs=1e-3)
    assert summary.min_confidence == 0.62
    assert summary.low_pages == (2,)
    assert summarize(pages, review_below=0.5).low_pages == ()
    assert summarize((), review_below=0.85) is None


def test_boxes_on_one_line_are_read_left_to_right_and_lines_top_to_bottom():
    label = box("Fee:", 203, left=100)
    value = box("GBP 27.00", 198, left=400)  # a table cell, its box a little higher
    above = box("Fees and charges", 100, height=44)
    lines = group_lines([value, above, label])
    assert [[b.text for b in line] for line in lines] == [
        ["Fees and charges"],
        ["Fee:", "GBP 27.00"],
    ]


def test_blocks_heading_paragraphs_and_a_stamp_below_the_text():
    boxes = [
        box("Fees and charges", 100, height=44),
        box("Replacement card: GBP 7.50 per card.", 180),
        box("It is charged on the day.", 218),  # the next line of the same paragraph
        box("CHAPS payment fee: GBP 27.00.", 320),  # a gap: a new paragraph
        box("APPROVED", 900, height=70),  # a stamp: tall, but nothing follows it
    ]
    blocks = blocks_from_boxes(boxes, page=2)
    assert [(b.kind, b.text) for b in blocks] == [
        (BlockKind.TITLE, "Fees and charges"),
        (BlockKind.TEXT, "Replacement card: GBP 7.50 per card. It is charged on the day."),
        (BlockKind.TEXT, "CHAPS payment fee: GBP 27.00."),
        (BlockKind.TEXT, "APPROVED"),
    ]
    assert {b.page for b in blocks} == {2}
    assert blocks_from_boxes([], page=1) == ()


def test_chinese_lines_join_without_spaces():
    boxes = [
        box("跨境汇款收费标准", 100, height=44),
        box("手续费：", 200),
        box("每笔150元。", 200, 400),
    ]
    blocks = blocks_from_boxes(boxes, page=1)
    assert [b.text for b in blocks] == ["跨境汇款收费标准", "手续费：每笔150元。"]


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 20
TIFF = b"II*\x00" + b"\x00" * 20


def test_image_formats_come_from_the_bytes_not_the_name():
    assert [detect_image_format(d) for d in (PNG, JPEG, TIFF, b"MM\x00*", b"GIF89a")] == [
        "png",
        "jpeg",
        "tiff",
        "tiff",
        None,
    ]
    assert detect_format(PNG, "notice.jpg") == "png"  # a PNG saved as .jpg is still read
    assert detect_format(TIFF, "scan.TIF") == "tiff"
    with pytest.raises(CorruptDocumentError, match="damaged or not an image"):
        detect_format(b"hello, not an image", "scan.png")
    with pytest.raises(UnsupportedFormatError, match="really a PDF"):
        detect_format(b"%PDF-1.7\n...", "scan.jpeg")


def test_a_file_that_may_hold_scans_gets_time_for_each_page():
    limits = ParseLimits(ocr_seconds_per_page=20.0)
    assert ocr_allowance_seconds(JPEG, "notice.jpg", limits) == 20.0
    scanned_pdf = b"%PDF-1.4 /Type /Page /Type /Page /Type /Pages /Subtype /Image"
    assert ocr_allowance_seconds(scanned_pdf, "rates.pdf", limits) == 40.0  # two pages
    assert ocr_allowance_seconds(b"%PDF-1.4 /Type /Page", "text.pdf", limits) == 0.0
    assert ocr_allowance_seconds(b"# notes", "notes.md", limits) == 0.0
    with pytest.raises(ValueError, match="ocr_seconds_per_page"):
        ParseLimits(ocr_seconds_per_page=0)

"""How the Library shows a scanned document: "scanned, OCR confidence 0.83", and the pages
whose OCR confidence is under KB_OCR_REVIEW_CONFIDENCE, for someone to check against the
original.

Kept out of ui/library.py so that page only names where the status appears.
"""

from __future__ import annotations

import streamlit as st

from ingest.ocr import summarize
from kb.types import DocumentRecord
from ui.i18n import t


def ocr_status(record: DocumentRecord) -> str:
    """The Library table's cell: empty for a text document."""
    summary = summarize(record.ocr_pages, 0.0)
    if summary is None:
        return ""
    return t("scanned, OCR confidence {confidence}", confidence=f"{summary.mean_confidence:.2f}")


def _page_count(record: DocumentRecord) -> int:
    current = [v for v in record.versions if v.version == record.current_version]
    return (current[0].page_count or 0) if current else 0


def show_ocr(record: DocumentRecord, review_below: float) -> None:
    """Under a document's title: how many pages were scanned, how sure OCR was, and the
    pages to review."""
    summary = summarize(record.ocr_pages, review_below)
    if summary is None:
        return
    st.caption(
        t(
            "Scanned: {pages} of {total} pages read by OCR, confidence mean {mean}, lowest {low}.",
            pages=summary.scanned_pages,
            total=max(summary.scanned_pages, _page_count(record)),
            mean=f"{summary.mean_confidence:.2f}",
            low=f"{summary.min_confidence:.2f}",
        )
    )
    if summary.low_pages:
        st.warning(
            t(
                "Check against the original: page {pages} read with OCR confidence below "
                "{threshold} (KB_OCR_REVIEW_CONFIDENCE).",
                pages=", ".join(str(p) for p in summary.low_pages),
                threshold=f"{review_below:.2f}",
            )
        )

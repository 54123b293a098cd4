"""Cheap checks that refuse a hostile file before any parser sees it.

A 1 MB zip bomb named .docx/.pptx/.xlsx inflates to gigabytes inside python-docx or openpyxl,
and a 16 MB PDF can declare 100,000 pages. Both are refused here from their headers alone:
the zip's central directory (declared sizes and entry count, nothing decompressed; Python's
zipfile never inflates an entry past its declared size, so the declared total is a real
bound) and the PDF's page count (pdfium reads the page tree without rendering). The worker
process's memory cap and timeout (ingest.worker) catch what these checks cannot see.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from dataclasses import dataclass

from kb.errors import DocumentError

_OFFICE = {"docx", "pptx", "xlsx"}
_END_OF_CENTRAL_DIRECTORY = b"PK\x05\x06"
_PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


class LimitExceededError(DocumentError):
    """The file is over a parsing limit; the reason names the limit and its setting."""


@dataclass(frozen=True)
class ParseLimits:
    max_unzipped_mb: float = 200.0
    max_zip_entries: int = 10_000
    max_pdf_pages: int = 2_000
    ocr_seconds_per_page: float = 30.0  # added to the parse timeout per page that may be a scan

    def __post_init__(self) -> None:
        for name in ("max_unzipped_mb", "max_zip_entries", "max_pdf_pages", "ocr_seconds_per_page"):
            if getattr(self, name) <= 0:
                raise ValueError(
                    f"{name} must be greater than 0. Currently, {name} is {getattr(self, name)}"
                )


def _declared_entry_count(data: bytes) -> int | None:
    """The entry count in the end-of-central-directory record, read without parsing the rest."""
    at = data.rfind(_END_OF_CENTRAL_DIRECTORY, max(0, len(data) - 65_557))
    if at < 0 or at + 22 > len(data):
        return None
    (count,) = struct.unpack_from("<H", data, at + 10)
    return int(count)


def check_office_archive(data: bytes, fmt: str, limits: ParseLimits) -> None:
    """Refuse an Office file whose archive declares too many entries or too many bytes."""
    if fmt not in _OFFICE:
        return
    declared = _declared_entry_count(data)
    if declared is not None and declared >= min(0xFFFF, limits.max_zip_entries + 1):
        raise LimitExceededError(
            f"the .{fmt} file holds {declared if declared < 0xFFFF else 'over 65,534'} parts, "
            f"over the limit of {limits.max_zip_entries:,} (KB_MAX_ZIP_ENTRIES)"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # the format check or the parser says what is wrong with it
    if len(entries) > limits.max_zip_entries:
        raise LimitExceededError(
            f"the .{fmt} file holds {len(entries):,} parts, over the limit of "
            f"{limits.max_zip_entries:,} (KB_MAX_ZIP_ENTRIES)"
        )
    unzipped = sum(entry.file_size for entry in entries)
    if unzipped > limits.max_unzipped_mb * 1_000_000:
        raise LimitExceededError(
            f"the .{fmt} file would unpack to {unzipped / 1e6:,.0f} MB, over the limit of "
            f"{limits.max_unzipped_mb:g} MB (KB_MAX_UNZIPPED_MB); it may be a zip bomb"
        )


def count_pdf_pages(data: bytes) -> int:
    """Pages in a PDF, from its page tree (pdfium), or an upper estimate from page objects."""
    try:
        import pypdfium2

        document = pypdfium2.PdfDocument(data)
        try:
            return len(document)
        finally:
            document.close()
    except Exception:  # damaged or encrypted: the parser will say which; estimate meanwhile
        return len(_PAGE_OBJECT.findall(data))


def check_pdf_pages(data: bytes, fmt: str, limits: ParseLimits) -> None:
    if fmt != "pdf":
        return
    pages = count_pdf_pages(data)
    if pages > limits.max_pdf_pages:
        raise LimitExceededError(
            f"the PDF has {pages:,} pages, over the limit of {limits.max_pdf_pages:,} "
            "(KB_MAX_PDF_PAGES)"
        )


def check_limits(data: bytes, fmt: str, limits: ParseLimits) -> None:
    check_office_archive(data, fmt, limits)
    check_pdf_pages(data, fmt, limits)

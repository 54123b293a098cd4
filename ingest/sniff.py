"""Decide what a file really is from its bytes, not from its name.

A knowledge team's uploads are mislabelled more often than one would think (a web page saved
as .pdf, an old binary .doc renamed .docx, a password-protected Office file that is really an
OLE container). Checking the content first turns those into clear messages instead of
parser stack traces.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePath

from ingest.ocr import detect_image_format
from kb.errors import (
    CorruptDocumentError,
    EncryptedDocumentError,
    UnsupportedFormatError,
)

SUPPORTED_EXTENSIONS: dict[str, str] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".md": "md",
    ".markdown": "md",
    ".txt": "txt",
    ".text": "txt",
    ".pptx": "pptx",
    ".xlsx": "xlsx",
    ".csv": "csv",
    ".eml": "eml",
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".tif": "tiff",
    ".tiff": "tiff",
}

_TEXT_FORMATS = {"html", "md", "txt", "csv", "eml"}
_OOXML_PART = {"docx": "word/", "pptx": "ppt/", "xlsx": "xl/"}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_IMAGE_FORMATS = {"png", "jpeg", "tiff"}


def safe_name(name: str) -> str:
    """The bare file name: never trust a name as a path (no folders, no '..', no NULs)."""
    base = PurePath(name.replace("\\", "/")).name.replace("\x00", "")
    base = base.strip().lstrip(".") or "unnamed"
    return base[:255]


def format_from_name(name: str) -> str:
    suffix = PurePath(name).suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        shown = suffix or "(no extension)"
        allowed = ", ".join(sorted(SUPPORTED_EXTENSIONS))
        raise UnsupportedFormatError(f"unsupported file type {shown}; supported: {allowed}")
    return SUPPORTED_EXTENSIONS[suffix]


def _looks_like_html(head: bytes) -> bool:
    sample = head[:2048].lstrip().lower()
    return sample.startswith((b"<!doctype html", b"<html")) or b"<html" in sample[:512]


def _decodes_as_text(data: bytes) -> bool:
    sample = data[:65536]
    if b"\x00" in sample:
        return False
    for encoding in ("utf-8", "utf-16", "gb18030", "big5"):
        try:
            sample.decode(encoding)
            return True
        except UnicodeDecodeError:
            # A multi-byte character cut at the sample's end is not a reason to reject.
            try:
                sample[:-4].decode(encoding)
                return True
            except UnicodeDecodeError:
                continue
    return False


def _check_ooxml(data: bytes, fmt: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile as e:
        raise CorruptDocumentError(f"the .{fmt} file is damaged (not a readable archive)") from e
    if "[Content_Types].xml" not in names:
        raise UnsupportedFormatError(
            f"named .{fmt} but it is a plain zip archive, not an Office file"
        )
    if not any(n.startswith(_OOXML_PART[fmt]) for n in names):
        actual = next(
            (f for f, part in _OOXML_PART.items() if any(n.startswith(part) for n in names)), None
        )
        what = f"a .{actual} file" if actual else "another kind of Office file"
        raise UnsupportedFormatError(f"named .{fmt} but it is really {what}")


def _check_ole(data: bytes, fmt: str) -> None:
    """An OLE container named .docx/.pptx/.xlsx is either encrypted OOXML or a legacy binary."""
    try:
        import msoffcrypto

        office = msoffcrypto.OfficeFile(io.BytesIO(data))
        encrypted = office.is_encrypted()
    except Exception:  # msoffcrypto raises assorted errors on formats it does not know
        encrypted = False
    if encrypted:
        raise EncryptedDocumentError(
            f"the .{fmt} file is password-protected; remove the password and upload it again"
        )
    raise UnsupportedFormatError(
        f"named .{fmt} but it is a legacy binary Office file (.doc/.xls/.ppt); "
        "save it as .docx/.xlsx/.pptx and upload it again"
    )


def detect_format(data: bytes, name: str) -> str:
    """Return the format to parse `data` as, or raise a DocumentError saying why not."""
    fmt = format_from_name(name)
    head = data[:8]
    if fmt == "pdf":
        if data[:1024].find(b"%PDF-") != -1:
            return fmt
        if _looks_like_html(data):
            raise UnsupportedFormatError("named .pdf but it is really a web page (HTML)")
        if data.startswith(b"PK"):
            raise UnsupportedFormatError("named .pdf but it is really a zip/Office file")
        raise CorruptDocumentError("named .pdf but it has no PDF header: damaged or not a PDF")
    if fmt in _IMAGE_FORMATS:
        # Scans and photographs, read by OCR (ingest.ocr). A PNG named .jpg is still an
        # image: parse what the bytes are, say so only when they are not an image at all.
        actual = detect_image_format(head)
        if actual is not None:
            return actual
        if head.startswith(b"%PDF"):
            raise UnsupportedFormatError(f"named .{fmt} but it is really a PDF")
        raise CorruptDocumentError(f"the .{fmt} image is damaged or not an image file")
    if fmt in _OOXML_PART:
        if head.startswith(b"PK"):
            _check_ooxml(data, fmt)
            return fmt
        if head.startswith(_OLE_MAGIC):
            _check_ole(data, fmt)
        if head.startswith(b"%PDF"):
            raise UnsupportedFormatError(f"named .{fmt} but it is really a PDF")
        raise CorruptDocumentError(f"the .{fmt} file is damaged or not a .{fmt} file")
    # Text formats: anything that does not decode as text is not what its name says.
    if head.startswith((b"%PDF", b"PK", _OLE_MAGIC)) or not _decodes_as_text(data):
        raise UnsupportedFormatError(f"named .{fmt} but it is a binary file, not text")
    assert fmt in _TEXT_FORMATS
    return fmt

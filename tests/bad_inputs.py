"""Hostile files built on the fly, small on disk: zip bombs dressed as Office files, Office
files with too many parts, PDFs with too many pages. Real good files underneath, so code
without limits parses them to the end instead of failing for another reason."""

from __future__ import annotations

import zipfile
from pathlib import Path

from tests.conftest import GOOD

_GOOD_OFFICE = {"docx": "procedure.docx", "pptx": "deck.pptx", "xlsx": "fees.xlsx"}
_MEDIA = {"docx": "word/media", "pptx": "ppt/media", "xlsx": "xl/media"}


def _copy_office(source: Path, target: Path) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    with zipfile.ZipFile(source) as original:
        for item in original.infolist():
            archive.writestr(item, original.read(item))
    return archive


def office_bomb(target: Path, unpacked_mb: int = 300) -> Path:
    """A real .docx/.pptx/.xlsx plus one part of `unpacked_mb` MB of zeros (about 0.3 MB on
    disk for 300 MB): every Office parser loads every part into memory."""
    fmt = target.suffix.lstrip(".")
    zeros = bytes(1 << 20)
    with (
        _copy_office(GOOD / _GOOD_OFFICE[fmt], target) as archive,
        archive.open(f"{_MEDIA[fmt]}/padding.bin", "w", force_zip64=True) as part,
    ):
        for _ in range(unpacked_mb):
            part.write(zeros)
    return target


def office_with_parts(target: Path, parts: int = 12_000) -> Path:
    """A real Office file with `parts` extra empty parts (about 100 bytes each on disk)."""
    fmt = target.suffix.lstrip(".")
    with _copy_office(GOOD / _GOOD_OFFICE[fmt], target) as archive:
        for i in range(parts):
            archive.writestr(f"{_MEDIA[fmt]}/p{i}.bin", b"")
    return target


def many_pages_pdf(target: Path, pages: int = 2_500, text: str = "Filler page") -> Path:
    """A valid PDF whose pages all share one font and one content stream (about 110 bytes a
    page): cheap to build, expensive to parse page by page."""
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(f"{5 + i} 0 R".encode() for i in range(pages))
        + f"] /Count {pages} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream",
    ]
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>"
    )
    objects += [page] * pages
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    target.write_bytes(bytes(out))
    return target

"""One entry point from a file's bytes to a ParsedDocument, or a DocumentError saying why not.

The order matters: size and emptiness first (cheap), then what the bytes really are
(ingest.sniff), then the parser for that format, then the check that a non-empty file gave
us text: unstructured and pdfminer both return nothing rather than fail on some broken
files, and an empty document silently entering the knowledge base is worse than an error.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path, PurePath

from ingest import ocr
from ingest.clean import clean_document, detect_language, normalize_text
from ingest.docmeta import find_stated_facts
from ingest.elements import parse_with_unstructured
from ingest.limits import ParseLimits, check_limits
from ingest.pdf import parse_pdf
from ingest.sniff import detect_format, safe_name
from kb.errors import EmptyDocumentError, FileTooLargeError
from kb.types import Block, BlockKind, PageConfidence, ParsedDocument

logger = logging.getLogger(__name__)


_PLACEHOLDER_TITLES = {
    "untitled",
    "document",
    "(anonymous)",
    "anonymous",
    "microsoft word",
    "title",
}


def _title(blocks: tuple[Block, ...], stated: str | None, name: str) -> str:
    if stated and stated.strip() and stated.strip().lower() not in _PLACEHOLDER_TITLES:
        return normalize_text(stated)
    first = next((b.text for b in blocks if b.kind == BlockKind.TITLE), None)
    return first or PurePath(name).stem.replace("_", " ").replace("-", " ")


def _without_title_heading(blocks: tuple[Block, ...], title: str) -> tuple[Block, ...]:
    """Drop the heading that only repeats the document title.

    Every citation already names the document; keeping its title as the top of each section
    path would make every path start the same way and push the real section out of sight.
    """
    wanted = title.casefold()
    for i, block in enumerate(blocks[:3]):
        heading = block.text.casefold()
        # An e-mail's subject often extends its first heading ("FRAUD ALERT - ... - action").
        if block.kind == BlockKind.TITLE and (
            heading == wanted or (len(heading) > 15 and heading in wanted)
        ):
            rest = blocks[:i] + blocks[i + 1 :]
            # a document that is only its title keeps it: its one line is its content
            return rest if any(b.text.strip() for b in rest) else blocks
    return blocks


def _merge_pages(blocks: tuple[Block, ...], read: list[ocr.OcrPage]) -> tuple[Block, ...]:
    """The text layer's blocks and the OCR'd pages' blocks, in page order (a mixed PDF)."""
    scanned = {p.page for p in read}
    kept = [b for b in blocks if b.page not in scanned]
    merged = kept + [b for p in read for b in p.blocks]
    return tuple(sorted(merged, key=lambda b: b.page or 0))  # stable: order within a page


def parse_bytes(
    data: bytes, name: str, *, max_bytes: int, limits: ParseLimits | None = None
) -> ParsedDocument:
    """Parse an upload. `name` is used for its extension and for display only, never as a path.

    `limits` (archive size and parts, PDF pages) are checked before any parser runs; the
    pipeline calls this in a worker process with a memory cap (ingest.worker)."""
    source_name = safe_name(name)
    if len(data) == 0:
        raise EmptyDocumentError("the file is empty (0 bytes)")
    if len(data) > max_bytes:
        raise FileTooLargeError(
            f"the file is {len(data) / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit"
        )
    fmt = detect_format(data, source_name)
    check_limits(data, fmt, limits or ParseLimits())
    properties: tuple[tuple[str, str], ...] = ()
    ocr_pages: tuple[PageConfidence, ...] = ()
    if fmt == "pdf":
        pdf = parse_pdf(data)
        blocks, stated_title, page_count = pdf.blocks, pdf.title, pdf.page_count
        scanned = ocr.scanned_pdf_pages(data)
        if scanned:
            read = ocr.read_pdf_pages(data, scanned)
            blocks = _merge_pages(blocks, read)
            ocr_pages = tuple(PageConfidence(p.page, round(p.confidence, 4)) for p in read)
    elif fmt in ocr.IMAGE_FORMATS:
        read = ocr.read_image(data, fmt, (limits or ParseLimits()).max_pdf_pages)
        blocks = tuple(b for p in read for b in p.blocks)
        stated_title, page_count = None, len(read)
        ocr_pages = tuple(PageConfidence(p.page, round(p.confidence, 4)) for p in read)
    else:
        content = parse_with_unstructured(data, fmt)
        blocks, stated_title, page_count = content.blocks, content.title, content.page_count
        properties = content.properties
    parsed = clean_document(
        ParsedDocument(
            source_name,
            fmt,
            "",
            blocks,
            "en",
            page_count,
            properties=properties,
            ocr_pages=ocr_pages,
        )
    )
    text = "\n".join(b.text for b in parsed.blocks)
    if not text.strip():
        hint = (
            " (OCR found no readable text in its scanned pages)"
            if ocr_pages
            else " (no text layer, and no scanned image for OCR to read)"
            if fmt == "pdf"
            else ""
        )
        raise EmptyDocumentError(f"no text could be extracted from this .{fmt} file{hint}")
    facts = find_stated_facts(b.text for b in parsed.blocks)
    title = _title(parsed.blocks, stated_title, source_name)
    logger.debug("parsed %s as %s: %d blocks", source_name, fmt, len(parsed.blocks))
    return dataclasses.replace(
        parsed,
        title=title,
        blocks=_without_title_heading(parsed.blocks, title),
        language=detect_language(text),
        effective_date=facts.effective_date,
        expiry_date=facts.expiry_date,
        owner=facts.owner,
    )


def load_document(path: Path, *, max_bytes: int) -> ParsedDocument:
    """Parse a file on disk; refuses oversized files before reading them."""
    size = path.stat().st_size
    if size > max_bytes:
        raise FileTooLargeError(
            f"the file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit"
        )
    return parse_bytes(path.read_bytes(), path.name, max_bytes=max_bytes)

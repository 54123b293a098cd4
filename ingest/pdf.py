"""Text PDFs to Blocks with pdfplumber: headings, paragraphs, steps, pages and whole tables.

Why not unstructured's `partition_pdf` like the other formats: its offline "fast" strategy
finds no tables at all (a fee schedule becomes a soup of numbers), it imports the whole
inference stack (onnxruntime, cv2, torchvision via timm) just to start, and it swallows
failures into an empty result. pdfplumber sits on the same pdfminer.six text layer that
unstructured uses, and adds table detection from ruling lines and per-character font sizes,
which is what headings are recovered from.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass

from ingest.steps import NOTE_LABEL
from ingest.tables import table_text
from kb.errors import CorruptDocumentError, EncryptedDocumentError
from kb.types import Block, BlockKind

_PAGE_FOOTER = re.compile(
    r"^(page\s+\d+(\s+of\s+\d+)?|\d+\s*/\s*\d+|第\s*\d+\s*页|-\s*\d+\s*-|\d+)$", re.I
)
_LIST_MARKER = re.compile(
    r"^\s*(?:(?P<num>\d{1,3})[.)、]|\((?P<pnum>\d{1,3})\)|(?P<alpha>[a-z])[.)]|\((?P<palpha>[a-z])\)"
    r"|(?P<bullet>[•●▪◦‣∙·\-–*])|(?P<zh>[一二三四五六七八九十]+)、|第\s*\d+\s*步)\s*"
)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")


@dataclass
class _Line:
    text: str
    size: float
    bold: bool
    x0: float
    top: float
    bottom: float
    page: int


@dataclass
class _Table:
    rows: tuple[tuple[str, ...], ...]
    page: int


@dataclass(frozen=True)
class PdfContent:
    blocks: tuple[Block, ...]
    page_count: int
    title: str | None


def _join(left: str, right: str) -> str:
    """Join two wrapped lines: no space between CJK characters, undo end-of-line hyphenation."""
    if not left:
        return right
    if left.endswith("-") and right[:1].islower():
        return left[:-1] + right
    if _CJK.match(left[-1]) or _CJK.match(right[:1]):
        return left + right
    return f"{left} {right}"


def _inside(line: dict, boxes: list[tuple[float, float, float, float]]) -> bool:
    mid_x = (line["x0"] + line["x1"]) / 2
    mid_y = (line["top"] + line["bottom"]) / 2
    return any(
        x0 - 1 <= mid_x <= x1 + 1 and top - 1 <= mid_y <= bottom + 1
        for x0, top, x1, bottom in boxes
    )


def _table_rows(raw: list[list[str | None]]) -> tuple[tuple[str, ...], ...]:
    rows = []
    for row in raw:
        cells = tuple(re.sub(r"\s*\n\s*", " ", cell or "").strip() for cell in row)
        if any(cells):
            rows.append(cells)
    return tuple(rows)


def _open(data: bytes):  # type: ignore[no-untyped-def]
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect
    from pdfplumber.utils.exceptions import PdfminerException

    try:
        return pdfplumber.open(io.BytesIO(data))
    except PdfminerException as e:
        cause = e.args[0] if e.args else e
        if isinstance(cause, PDFPasswordIncorrect) or "password" in str(cause).lower():
            raise EncryptedDocumentError(
                "the PDF is password-protected; remove the password and upload it again"
            ) from e
        raise CorruptDocumentError(f"the PDF is damaged and cannot be read ({cause})") from e
    except Exception as e:
        raise CorruptDocumentError(f"the PDF is damaged and cannot be read ({e})") from e


def _page_items(page, page_number: int) -> list[tuple[float, object]]:  # type: ignore[no-untyped-def]
    """Lines and tables of one page, keyed by their vertical position for reading order."""
    tables = page.find_tables()
    boxes = [t.bbox for t in tables]
    items: list[tuple[float, object]] = []
    for table in tables:
        rows = _table_rows(table.extract())
        if rows:
            items.append((table.bbox[1], _Table(rows, page_number)))
    for raw in page.extract_text_lines(return_chars=True, strip=True):
        text = raw["text"].strip()
        if not text or _inside(raw, boxes):
            continue
        chars = [c for c in raw["chars"] if c["text"].strip()]
        if not chars:
            continue
        sizes = Counter(round(c["size"], 1) for c in chars)
        bold = sum("bold" in c["fontname"].lower() for c in chars) > len(chars) / 2
        line = _Line(
            text,
            sizes.most_common(1)[0][0],
            bold,
            raw["x0"],
            raw["top"],
            raw["bottom"],
            page_number,
        )
        items.append((raw["top"], line))
    items.sort(key=lambda item: item[0])
    return items


def parse_pdf(data: bytes) -> PdfContent:
    """Parse a text PDF into Blocks in reading order (single column)."""
    with _open(data) as pdf:
        page_count = len(pdf.pages)
        title = (pdf.metadata or {}).get("Title")
        try:
            items = [
                item for i, page in enumerate(pdf.pages, 1) for _, item in _page_items(page, i)
            ]
        except Exception as e:
            raise CorruptDocumentError(f"the PDF is damaged and cannot be read ({e})") from e
    lines = [i for i in items if isinstance(i, _Line)]
    if not items:
        return PdfContent((), page_count, title if isinstance(title, str) else None)

    weights: Counter[float] = Counter()
    for line in lines:
        weights[line.size] += len(line.text)
    body_size = weights.most_common(1)[0][0] if weights else 10.0
    heading_sizes = sorted({ln.size for ln in lines if ln.size >= body_size + 1.0}, reverse=True)

    def heading_level(line: _Line) -> int | None:
        if _PAGE_FOOTER.match(line.text):
            return None
        if line.size in heading_sizes:
            return heading_sizes.index(line.size) + 1
        short = len(line.text) <= 90 and not line.text.endswith((".", "。", ":", "："))
        if line.bold and short and not _LIST_MARKER.match(line.text):
            return len(heading_sizes) + 1
        return None

    blocks: list[Block] = []
    current: list[str] = []
    current_kind = BlockKind.TEXT
    current_level = 1
    current_page: int | None = None
    previous: _Line | None = None
    list_indent: float | None = None

    def flush() -> None:
        nonlocal current
        text = ""
        for part in current:
            text = _join(text, part)
        if text.strip():
            blocks.append(Block(current_kind, text.strip(), current_page, current_level))
        current = []

    for item in items:
        if isinstance(item, _Table):
            flush()
            previous = None
            blocks.append(
                Block(BlockKind.TABLE, table_text(item.rows), item.page, 1, rows=item.rows)
            )
            continue
        line = item
        if _PAGE_FOOTER.match(line.text) and line.size <= body_size:
            continue
        level = heading_level(line)
        if level is not None:
            same_heading = (
                previous is not None
                and current_kind == BlockKind.TITLE
                and current_level == level
                and previous.page == line.page
                and line.top - previous.bottom < line.size
            )
            if not same_heading:
                flush()
            current_kind, current_level, current_page = BlockKind.TITLE, level, line.page
            current.append(line.text)
            previous = line
            continue
        marker = _LIST_MARKER.match(line.text)
        gap = line.top - previous.bottom if previous and previous.page == line.page else None
        new_paragraph = (
            marker is not None
            or NOTE_LABEL.match(line.text) is not None
            or current_kind == BlockKind.TITLE
            or previous is None
            or gap is None
            or gap > line.size * 0.8
        )
        if new_paragraph:
            flush()
            current_page = line.page
            if marker is not None:
                current_kind = BlockKind.LIST_ITEM
                if list_indent is None or (marker.group("num") and line.x0 < list_indent + 3):
                    list_indent = line.x0
                nested = (
                    bool(marker.group("alpha") or marker.group("palpha"))
                    or line.x0 > list_indent + 8
                )
                current_level = 2 if nested else 1
            else:
                current_kind, current_level = BlockKind.TEXT, 1
                list_indent = None if gap is None or gap > line.size * 2 else list_indent
        current.append(line.text)
        previous = line
    flush()
    return PdfContent(
        tuple(blocks), page_count, title if isinstance(title, str) and title.strip() else None
    )

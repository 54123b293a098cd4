"""Text from pictures of pages: scanned PDF pages and image files, read by OCR.

Banks keep many procedures as scans (signed circulars, faxed rate sheets, photographed
notices). Without OCR such a file fails as "no text could be extracted" and its knowledge is
missing; with it, each scanned page becomes Blocks on its own page number, and the engine's
confidence for that page is kept so the Library can say how far to trust it.

The engine is RapidOCR (`rapidocr-onnxruntime` 1.4.4): PaddleOCR's PP-OCRv4 detection and
recognition models for Chinese and English ship inside its wheel and run on onnxruntime, so
nothing is fetched at run time and `make setup` installs it from PyPI. It was chosen over
Tesseract by measurement (eval/ocr_bench.py, eval/reports/ocr.md). The engine loads once per
process, on the first scanned page, inside the parser worker (ingest.worker).

The pure parts (which pages need OCR, lines from boxes, blocks from lines, confidence per page
and per document) take data and return data; only `RapidOcrEngine` and the renderers touch
models and files.
"""

from __future__ import annotations

import io
import math
import re
import statistics
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kb.errors import CorruptDocumentError
from kb.types import Block, BlockKind, PageConfidence

MIN_TEXT_CHARS = 16
"""A PDF page whose text layer has fewer non-blank characters than this (a stray page
number, a scanner's file stamp) but carries an image is treated as scanned."""

RENDER_DPI = 200
"""Scans are read at 200 dpi: PP-OCRv4 reads 10-point text well there, and a page stays
under 2,400 pixels a side (memory in the capped parser process)."""

MAX_IMAGE_PIXELS = 60_000_000
"""An image (or a rendered page) with more pixels is refused: a decompression bomb, or a
poster no desk procedure needs; a 600 dpi A4 page is 35 megapixels."""

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")

IMAGE_FORMATS = ("png", "jpeg", "tiff")


# ---------------------------------------------------------------------- records


@dataclass(frozen=True)
class OcrBox:
    """One text line as the engine found it: its text, score (0-1) and bounding box."""

    text: str
    confidence: float
    left: float
    top: float
    right: float
    bottom: float
    height: float  # of the text itself: a skewed line's bounding box is taller than its text

    @property
    def centre(self) -> float:
        return (self.top + self.bottom) / 2


@dataclass(frozen=True)
class OcrPage:
    """One page read by OCR: its blocks in reading order and its confidence."""

    page: int
    blocks: tuple[Block, ...]
    confidence: float


@dataclass(frozen=True)
class OcrSummary:
    """What the Library shows for a document: how many pages were scanned, and how sure."""

    scanned_pages: int
    mean_confidence: float
    min_confidence: float
    low_pages: tuple[int, ...]  # pages below the review threshold


# ---------------------------------------------------------------------- pure parts


def needs_ocr(text_chars: int, has_image: bool) -> bool:
    """A page is scanned when it shows an image and has (next to) no text layer."""
    return has_image and text_chars < MIN_TEXT_CHARS


def _join(left: str, right: str) -> str:
    if not left:
        return right
    if _CJK.match(left[-1]) or _CJK.match(right[:1]):
        return left + right
    return f"{left} {right}"


def group_lines(boxes: Iterable[OcrBox]) -> list[list[OcrBox]]:
    """Boxes on the same text line (vertical centres within half a line), top to bottom,
    each line left to right: a table row or a label and its value read as one line."""
    lines: list[list[OcrBox]] = []
    for box in sorted(boxes, key=lambda b: b.centre):
        centre = box.centre
        if lines:
            last = lines[-1]
            last_centre = statistics.fmean(b.centre for b in last)
            if abs(centre - last_centre) < max(b.height for b in [*last, box]) / 2:
                last.append(box)
                continue
        lines.append([box])
    return [sorted(line, key=lambda b: b.left) for line in lines]


def page_confidence(boxes: Sequence[OcrBox]) -> float:
    """The page's confidence: the engine's line scores weighted by characters, so a long
    misread line weighs more than a stamp's single word. 0.0 when nothing was read."""
    weights = [len(b.text.strip()) for b in boxes]
    if not boxes or sum(weights) == 0:
        return 0.0
    return sum(b.confidence * w for b, w in zip(boxes, weights, strict=True)) / sum(weights)


def _is_heading(text: str, height: float, body: float, first: bool) -> bool:
    short = len(text) <= 60 and not text.endswith((".", "。", ":", "：", ",", "，", ";", "；"))
    return short and (height >= body * 1.3 or first)


def blocks_from_boxes(boxes: Sequence[OcrBox], page: int) -> tuple[Block, ...]:
    """Headings and paragraphs from the lines of one page.

    A scan keeps little layout: a short line at the top of the page, or one clearly taller
    than the page's usual line, is a heading, but only when text follows it (a stamp or a
    signature below the last line is text, not the heading of nothing). Body lines closer
    than a line's height belong to one paragraph."""
    lines = [line for line in group_lines(boxes) if any(b.text.strip() for b in line)]
    if not lines:
        return ()
    heights = [max(b.height for b in line) for line in lines]
    body = statistics.median(heights)
    blocks: list[Block] = []
    paragraph = ""
    previous_centre: float | None = None
    for i, (line, height) in enumerate(zip(lines, heights, strict=True)):
        text = ""
        for box in line:
            text = _join(text, box.text.strip())
        centre = statistics.fmean(b.centre for b in line)
        followed = any(h < body * 1.3 for h in heights[i + 1 :])
        if followed and _is_heading(text, height, body, first=i == 0):
            if paragraph:
                blocks.append(Block(BlockKind.TEXT, paragraph, page))
                paragraph = ""
            blocks.append(Block(BlockKind.TITLE, text, page))
            previous_centre = None
            continue
        # single-spaced lines sit about 1.2-1.5 text heights apart; farther is a new paragraph
        if paragraph and previous_centre is not None and centre - previous_centre < body * 1.7:
            paragraph = _join(paragraph, text)
        else:
            if paragraph:
                blocks.append(Block(BlockKind.TEXT, paragraph, page))
            paragraph = text
        previous_centre = centre
    if paragraph:
        blocks.append(Block(BlockKind.TEXT, paragraph, page))
    return tuple(blocks)


def summarize(pages: Sequence[PageConfidence], review_below: float) -> OcrSummary | None:
    """Scanned pages, their mean and lowest confidence, and the pages to review (below
    `review_below`); None for a document with no scanned page."""
    if not pages:
        return None
    scores = [p.confidence for p in pages]
    return OcrSummary(
        scanned_pages=len(pages),
        mean_confidence=statistics.fmean(scores),
        min_confidence=min(scores),
        low_pages=tuple(sorted(p.page for p in pages if p.confidence < review_below)),
    )


def detect_image_format(head: bytes) -> str | None:
    """png, jpeg or tiff from the first bytes, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    return None


# ---------------------------------------------------------------------- engine


class RapidOcrEngine:
    """PP-OCRv4 through RapidOCR, loaded from the installed wheel on first use."""

    name = "rapidocr"

    def __init__(self) -> None:
        self._engine: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._engine is None:
                from rapidocr_onnxruntime import RapidOCR

                # Models come from the package folder (its config.yaml); nothing is fetched.
                self._engine = RapidOCR(print_verbose=False)
            return self._engine

    def read(self, image: Any) -> list[OcrBox]:
        """Text lines of a PIL image."""
        import numpy as np

        result, _ = self._load()(np.asarray(image.convert("RGB")))
        boxes = []
        for points, text, score in result or ():
            (x0, y0), (x1, y1), (x2, y2), (x3, y3) = ((float(x), float(y)) for x, y in points)
            height = (math.dist((x0, y0), (x3, y3)) + math.dist((x1, y1), (x2, y2))) / 2
            xs, ys = (x0, x1, x2, x3), (y0, y1, y2, y3)
            boxes.append(
                OcrBox(str(text), float(score), min(xs), min(ys), max(xs), max(ys), height)
            )
        return boxes


_engine = RapidOcrEngine()


def read_page(image: Any, page: int, engine: RapidOcrEngine | None = None) -> OcrPage:
    """OCR one page image into blocks on page `page`, with its confidence."""
    boxes = (engine or _engine).read(image)
    return OcrPage(page, blocks_from_boxes(boxes, page), page_confidence(boxes))


# ---------------------------------------------------------------------- images and PDFs


def _check_pixels(width: int, height: int) -> None:
    if width * height > MAX_IMAGE_PIXELS:
        raise CorruptDocumentError(
            f"the image is {width:,} x {height:,} pixels, over the "
            f"{MAX_IMAGE_PIXELS / 1e6:.0f}-megapixel limit for OCR"
        )


def image_pages(data: bytes, fmt: str, max_pages: int) -> list[Any]:
    """The pages of an image file as PIL images (a TIFF may hold several), or a clear error
    for a damaged one."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        _check_pixels(*image.size)
        frames = []
        for i, frame in enumerate(ImageSequence.Iterator(image)):
            if i >= max_pages:
                raise CorruptDocumentError(
                    f"the .{fmt} file holds over {max_pages:,} pages (KB_MAX_PDF_PAGES)"
                )
            _check_pixels(*frame.size)
            frames.append(frame.convert("RGB"))
    except CorruptDocumentError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise CorruptDocumentError(f"the .{fmt} image is damaged and cannot be read ({e})") from e
    except Image.DecompressionBombError as e:
        raise CorruptDocumentError(f"the .{fmt} image is too large to read ({e})") from e
    return frames


def read_image(data: bytes, fmt: str, max_pages: int) -> list[OcrPage]:
    """OCR every page of an image file."""
    return [read_page(frame, i) for i, frame in enumerate(image_pages(data, fmt, max_pages), 1)]


def scanned_pdf_pages(data: bytes) -> list[int]:
    """Page numbers (from 1) of a PDF's pages that carry an image and no real text layer."""
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    try:
        document = pypdfium2.PdfDocument(data)
    except Exception as e:  # the text parser has already said what is wrong with it
        raise CorruptDocumentError(f"the PDF is damaged and cannot be read ({e})") from e
    scanned = []
    try:
        for index in range(len(document)):
            page = document[index]
            text = page.get_textpage().get_text_range()
            chars = sum(not ch.isspace() for ch in text)
            has_image = any(
                True for _ in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=3)
            )
            if needs_ocr(chars, has_image):
                scanned.append(index + 1)
    finally:
        document.close()
    return scanned


def read_pdf_pages(data: bytes, pages: Sequence[int]) -> list[OcrPage]:
    """Render the given PDF pages at RENDER_DPI and OCR them."""
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    out = []
    try:
        for number in pages:
            page = document[number - 1]
            width, height = page.get_size()
            scale = RENDER_DPI / 72
            _check_pixels(round(width * scale), round(height * scale))
            image = page.render(scale=scale, grayscale=True).to_pil()
            out.append(read_page(image, number))
    finally:
        document.close()
    return out


def ocr_allowance_pages(data: bytes, fmt: str) -> int:
    """How many pages a file may need OCR for, estimated from its bytes without parsing:
    the parent process adds time for them to the parse timeout (ingest.worker)."""
    if fmt == "tiff":  # several pages possible; a compressed scanned page is under 0.5 MB
        return 1 + len(data) // 500_000
    if fmt in IMAGE_FORMATS:
        return 1
    if fmt == "pdf" and (b"/Image" in data or b"/DCTDecode" in data):
        return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))
    return 0

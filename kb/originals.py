"""The original of a cited passage, as the agent sees it when they click "Open".

An agent checking an answer mid-call wants the place in the original the passage came from,
not a file to download and search. So:

* a PDF is shown as the cited page(s) rendered to an image, with the boxes of the passage's
  text on the page drawn over it (pypdfium2 renders and gives the text boxes, Pillow draws);
* any other format (Word, HTML, Markdown, text, slides, e-mail, spreadsheets) is shown as the
  cited section, rebuilt from the knowledge base's own chunks, as HTML with the cited passage
  in <mark> and scrolled into view. Every piece of content is escaped: documents are
  untrusted, and this HTML runs in an iframe of the app.

What can be pure is: finding a passage's text on a page whatever the line breaks, spacing,
quotes and widths (`locate`), placing a box from PDF points onto the rendered image
(`to_pixels`), choosing the chunks of a section (`section_parts`) and writing the section's
HTML (`section_html`). Only `render_pdf_pages` and `view` open files.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kb.types import Chunk, Citation

logger = logging.getLogger(__name__)

DPI = 110  # readable on a laptop screen, about 900 px wide for an A4 page
MAX_PAGES = 3  # a passage spanning more pages shows its first three
_MIN_PIECE = 3  # normalised characters: shorter table cells ("0", "Fee") would mark anything
_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}")
_SENTENCE = re.compile(r"(?<=[.!?;。！？；])\s*")
_LIST_MARK = re.compile(r"^(?:[-*•·▪◦●○■□]\s+)")


@dataclass(frozen=True)
class SectionPart:
    """One chunk of the cited section: its heading path, its text without the heading line
    the chunker puts first, and whether it is the cited passage."""

    heading: str
    text: str
    cited: bool


@dataclass(frozen=True)
class Original:
    """What the services hand the viewer (Services.open_original): the citation, the stored
    file (None if the knowledge base kept none), its format, the cited passage's text as the
    registry holds it, its pages, and the section around it."""

    citation: Citation
    format: str
    path: Path | None
    passage: str
    pages: tuple[int, ...]
    parts: tuple[SectionPart, ...]


@dataclass(frozen=True)
class Box:
    """A rectangle on a rendered page, in pixels from the image's top-left corner."""

    left: float
    top: float
    right: float
    bottom: float


@dataclass(frozen=True)
class PageImage:
    page: int  # 1-based
    png: bytes
    width: int
    height: int
    boxes: tuple[Box, ...]  # where the passage is, as drawn on the image


@dataclass(frozen=True)
class PageView:
    """A PDF's cited pages with the passage drawn over them."""

    pages: tuple[PageImage, ...]

    @property
    def found(self) -> bool:
        return any(p.boxes for p in self.pages)


@dataclass(frozen=True)
class SectionView:
    """The cited section as a self-contained HTML page, the passage marked (id "cited")."""

    html: str
    found: bool


# ------------------------------------------------------------------ finding text (pure)


def normalised(text: str) -> tuple[str, list[int]]:
    """`text` folded for matching, with the index in `text` of every folded character.

    Whitespace is dropped (a PDF breaks lines where the document did not; Chinese has no
    spaces anyway), compatibility forms are unified (full-width "，" and ligatures, NFKC),
    curly quotes and dashes become plain ones, case is folded."""
    folded: list[str] = []
    where: list[int] = []
    for index, char in enumerate(text):
        for piece in unicodedata.normalize("NFKC", char).casefold():
            if piece.isspace():
                continue
            folded.append(_PLAIN.get(piece, piece))
            where.append(index)
    return "".join(folded), where


_PLAIN = {"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "−": "-", "\u00ad": ""}


def passage_pieces(text: str) -> list[str]:
    """The parts of a passage worth finding on the page, in order: its lines, and a table's
    cells one by one (the chunker writes tables as Markdown rows; a PDF lays the cells out
    with other spacing). Rules of a table and list markers are not text of the page."""
    pieces: list[str] = []
    for line in text.replace("\r", "\n").split("\n"):
        line = line.strip()
        if not line or _TABLE_RULE.match(line):
            continue
        cells = line.strip("|").split("|") if line.startswith("|") else [line]
        for cell in cells:
            cell = _LIST_MARK.sub("", cell.strip())
            # "Branch transfer, HKD — Fee: HKD 100" style rows are cut at the dash too
            pieces += [p for p in re.split(r"\s+[—–]\s+", cell) if p.strip()]
    return pieces


def locate(page_text: str, passage: str) -> list[tuple[int, int]]:
    """Where the passage's pieces are in `page_text`, as (start, end) indices of
    `page_text`, in order. Each piece is looked for after the previous one found, so a short
    cell matches in the passage's own rows rather than anywhere on the page; a piece that is
    not on the page (a heading path, a line on the next page) is skipped, and a piece the
    page words slightly differently is looked for sentence by sentence."""
    haystack, where = normalised(page_text)
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in passage_pieces(passage):
        # a paragraph the page words slightly differently is looked for sentence by sentence
        for part in (
            [piece] if haystack.find(normalised(piece)[0], cursor) >= 0 else _SENTENCE.split(piece)
        ):
            needle, _ = normalised(part)
            found = haystack.find(needle, cursor) if len(needle) >= _MIN_PIECE else -1
            if found >= 0:
                spans.append((where[found], where[found + len(needle) - 1] + 1))
                cursor = found + len(needle)
    return _merged(spans, page_text)


def _merged(spans: Iterable[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    """Spans joined where only whitespace separates them (one mark per run of text)."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and (start <= out[-1][1] or not text[out[-1][1] : start].strip()):
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


# ------------------------------------------------------------------ placing boxes (pure)


def to_pixels(
    rect: tuple[float, float, float, float],
    crop: tuple[float, float, float, float],
    rotation: int,
    scale: float,
    pad: float = 2.0,
) -> Box:
    """A rectangle in PDF points (left, bottom, right, top; origin bottom-left) as a Box on
    the page rendered at `scale` pixels per point: relative to the crop box (what is
    rendered), turned as the page is shown (`rotation`, clockwise degrees), padded a little
    so the mark does not touch the letters."""
    left, bottom, right, top = rect
    crop_left, crop_bottom, crop_right, crop_top = crop
    width, height = crop_right - crop_left, crop_top - crop_bottom
    # upright coordinates from the top-left corner, in points
    x0, x1 = left - crop_left, right - crop_left
    y0, y1 = crop_top - top, crop_top - bottom
    corners = [(x0, y0), (x1, y1)]
    turn = rotation % 360
    if turn == 90:
        corners = [(height - y, x) for x, y in corners]
    elif turn == 180:
        corners = [(width - x, height - y) for x, y in corners]
    elif turn == 270:
        corners = [(y, width - x) for x, y in corners]
    xs = sorted(x * scale for x, _ in corners)
    ys = sorted(y * scale for _, y in corners)
    return Box(xs[0] - pad, ys[0] - pad, xs[1] + pad, ys[1] + pad)


# ------------------------------------------------------------------ the section (pure)


def section_parts(chunks: Sequence[Chunk], cited_chunk_id: str) -> tuple[SectionPart, ...]:
    """The cited chunk's section in reading order: the chunks of the same section and of
    its sub-sections, each without the heading line the chunker put first (it is shown once
    per heading instead). Empty when the cited chunk is not among `chunks`."""
    cited = next((c for c in chunks if c.chunk_id == cited_chunk_id), None)
    if cited is None:
        return ()
    path = cited.section_path
    inside = [c for c in chunks if c.section_path[: len(path)] == path]
    return tuple(
        SectionPart(c.section, _body(c.text, c.section), c.chunk_id == cited_chunk_id)
        for c in sorted(inside, key=lambda c: c.position)
    )


def _body(text: str, heading: str) -> str:
    first, _, rest = text.partition("\n")
    return rest if first.strip() and heading.startswith(_uncontinued(first.strip())) else text


def _uncontinued(heading: str) -> str:
    for suffix in (" (continued)", "（续）"):
        heading = heading.removesuffix(suffix)
    return heading


def section_html(title: str, parts: Sequence[SectionPart]) -> str:
    """The section as a small HTML page: the document title, each heading once, paragraphs
    and Markdown tables as HTML, the cited part's text in <mark> with id "cited", scrolled
    into view when the page loads. Everything from the document is escaped."""
    body: list[str] = [f"<h3>{html.escape(title)}</h3>"]
    heading = None
    for part in parts:
        if part.heading != heading:
            heading = part.heading
            body.append(f"<h4>{html.escape(heading)}</h4>")
        attributes = ' id="cited" class="part cited"' if part.cited else ' class="part"'
        body.append(f"<div{attributes}>{_blocks(part.text, part.cited)}</div>")
    return _PAGE.format(body="\n".join(body), script=_SCROLL)


def _blocks(text: str, marked: bool) -> str:
    """Lines as paragraphs, runs of Markdown table rows as a table; each text escaped and,
    in the cited part, wrapped in <mark>."""

    def shown(value: str) -> str:
        escaped = html.escape(value)
        return f"<mark>{escaped}</mark>" if marked and value.strip() else escaped

    out: list[str] = []
    rows: list[list[str]] = []

    def close_table() -> None:
        if rows:
            head, *rest = rows
            cells = "".join(f"<th>{shown(c)}</th>" for c in head)
            lines = "".join(
                "<tr>" + "".join(f"<td>{shown(c)}</td>" for c in row) + "</tr>" for row in rest
            )
            out.append(f"<table><thead><tr>{cells}</tr></thead><tbody>{lines}</tbody></table>")
            rows.clear()

    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("|"):
            if not _TABLE_RULE.match(stripped):
                rows.append([c.strip() for c in stripped.strip("|").split("|")])
            continue
        close_table()
        if stripped:
            indent = len(line) - len(line.lstrip(" "))
            style = f' style="margin-left:{indent // 3}em"' if indent else ""
            out.append(f"<p{style}>{shown(stripped)}</p>")
    close_table()
    return "".join(out)


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><style>
body {{ font-family: "Source Sans Pro", "Source Sans 3", sans-serif; font-size: 16px;
  line-height: 1.5; color: #262730; margin: 0.5rem 0.75rem; }}
h3 {{ font-size: 1.1rem; margin: 0.25rem 0; }} h4 {{ font-size: 1rem; margin: 0.75rem 0 0.25rem; }}
p {{ margin: 0.2rem 0; }} table {{ border-collapse: collapse; margin: 0.4rem 0; }}
th, td {{ border: 1px solid #d0d0d8; padding: 2px 8px; text-align: left; }}
mark {{ background: #ffe066; padding: 0 2px; }}
.cited {{ border-left: 4px solid #f0a500; padding-left: 0.5rem; }}
</style></head><body>
{body}
{script}
</body></html>"""

_SCROLL = (
    "<script>const cited = document.getElementById('cited');"
    "if (cited) cited.scrollIntoView({block: 'center'});</script>"
)


def pages_html(shown: PageView, caption: str = "") -> str:
    """The rendered pages as a small HTML page: each image at the frame's width with the
    first marked box scrolled into view (the marks are drawn into the images; an empty
    element sits on the first so the frame can scroll there). `caption` is shown under each
    page with "{page}" replaced by its number; it is escaped like everything else."""
    out: list[str] = []
    first = True
    for page in shown.pages:
        data = base64.b64encode(page.png).decode("ascii")
        anchor = ""
        if page.boxes and first:
            top = min(b.top for b in page.boxes) / page.height * 100
            anchor = f'<span id="cited" style="position:absolute;left:0;top:{top:.2f}%"></span>'
            first = False
        label = html.escape(caption.replace("{page}", str(page.page)))
        out.append(
            f'<figure><div style="position:relative">{anchor}<img alt="{label}" '
            f'src="data:image/png;base64,{data}"></div><figcaption>{label}</figcaption></figure>'
        )
    style = (
        "<style>body { margin: 0; font-family: sans-serif; } figure { margin: 0 0 0.5rem; }"
        " img { width: 100%; display: block; border: 1px solid #d0d0d8; }"
        " figcaption { font-size: 0.8rem; color: #6b6b76; text-align: center; }</style>"
    )
    return (
        f'<!doctype html><html><head><meta charset="utf-8">{style}</head><body>'
        f"{''.join(out)}{_SCROLL}</body></html>"
    )


# ------------------------------------------------------------------ the viewer (opens files)


def view(original: Original, dpi: int = DPI) -> PageView | SectionView:
    """What to show for `original`: the cited PDF pages with the passage drawn over them,
    or, for every other format (and a PDF whose stored file is missing or unreadable), the
    cited section with the passage marked."""
    if original.format == "pdf" and original.path is not None and original.path.exists():
        try:
            passage = _body(original.passage, original.citation.section)
            return render_pdf_pages(original.path, original.pages, passage, dpi)
        except Exception as error:  # a damaged file still has its section in the base
            logger.warning("could not render %s: %s", original.citation.source_name, error)
    return SectionView(
        section_html(original.citation.title, original.parts),
        any(p.cited for p in original.parts),
    )


def render_pdf_pages(path: Path, pages: Sequence[int], passage: str, dpi: int = DPI) -> PageView:
    """The cited pages (1-based; the first page when none is cited) rendered at `dpi`, with
    the passage's text boxes drawn over each."""
    import pypdfium2 as pdfium
    from PIL import Image, ImageDraw

    scale = dpi / 72
    document = pdfium.PdfDocument(path)
    try:
        numbers = [n for n in (pages or (1,)) if 1 <= n <= len(document)][:MAX_PAGES]
        shown: list[PageImage] = []
        for number in numbers or [1]:
            page = document[number - 1]
            text_page = page.get_textpage()
            boxes = tuple(
                to_pixels(rect, page.get_cropbox(), page.get_rotation(), scale)
                for rect in _rectangles(text_page, passage)
            )
            image = page.render(scale=scale).to_pil().convert("RGBA")
            overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
            draw = ImageDraw.Draw(overlay)
            for box in boxes:
                shape = (box.left, box.top, box.right, box.bottom)
                draw.rectangle(shape, fill=(255, 214, 0, 90), outline=(230, 120, 0, 255), width=2)
            image = Image.alpha_composite(image, overlay).convert("RGB")
            buffer = io.BytesIO()
            image.save(buffer, format="PNG", optimize=True)
            shown.append(PageImage(number, buffer.getvalue(), image.width, image.height, boxes))
            text_page.close()
            page.close()
        return PageView(tuple(shown))
    finally:
        document.close()


def _rectangles(text_page, passage: str) -> list[tuple[float, float, float, float]]:  # type: ignore[no-untyped-def]
    """The passage's text boxes on one page, as pdfium gives them (one per run of a line)."""
    count = text_page.count_chars()
    text = text_page.get_text_range()
    if len(text) != count:  # rare: pdfium left chars out; read them one by one instead
        import pypdfium2.raw as raw

        text = "".join(chr(raw.FPDFText_GetUnicode(text_page.raw, i) or 32) for i in range(count))
    rectangles = []
    for start, end in locate(text, passage):
        for i in range(text_page.count_rects(start, end - start)):
            rectangles.append(text_page.get_rect(i))
    return rectangles

"""Render a small Markdown-like source into a real document (pdf, docx, pptx, xlsx, html, md,
txt, eml, csv) with genuine structure in each format.

Used by tools/build_samples.py (the sample knowledge base) and tools/make_test_fixtures.py
(tests/data/). See tools/README.md for the source format.
"""

from __future__ import annotations

import csv
import datetime as dt
import email.utils
import hashlib
import html
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

# --------------------------------------------------------------------------------------------
# Source model
# --------------------------------------------------------------------------------------------

LANGUAGES = ("en", "zh-Hans", "zh-Hant")
FORMATS = ("pdf", "docx", "pptx", "xlsx", "html", "htm", "md", "txt", "eml", "csv")


class SourceError(ValueError):
    """The source text does not follow the format; the message names the line."""


@dataclass(frozen=True)
class Meta:
    file: str
    title: str
    owner: str
    version: str
    effective: dt.date
    review_by: dt.date | None = None
    expiry: dt.date | None = None
    language: str = "en"
    extra: tuple[tuple[str, str], ...] = ()  # any other key (eml: from, to, subject, date)

    def get(self, key: str, default: str | None = None) -> str | None:
        return dict(self.extra).get(key, default)

    @property
    def is_zh(self) -> bool:
        return self.language.startswith("zh")


@dataclass(frozen=True)
class Heading:
    level: int  # 1..3
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class NumberedItem:
    level: int  # 1 = step, 2 = sub-step, 3 = sub-sub-step
    number: str  # "1", "2" ... at level 1; "a", "b" ... below (as written in the source)
    text: str


@dataclass(frozen=True)
class Bullet:
    level: int
    text: str


@dataclass(frozen=True)
class Note:
    label: str  # "Note", "Warning", "注意" ... without the colon
    text: str


@dataclass(frozen=True)
class Table:
    rows: tuple[tuple[str, ...], ...]  # rows[0] is the header
    caption: str | None = None


Block = Heading | Paragraph | NumberedItem | Bullet | Note | Table
ListItem = NumberedItem | Bullet


@dataclass(frozen=True)
class Source:
    meta: Meta
    blocks: tuple[Block, ...]
    path: Path | None = None

    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------

_REQUIRED = ("file", "title", "owner", "version", "effective")
_HEADING_RE = re.compile(r"^(#{1,6})\s+(.+)$")
_NUM_RE = re.compile(r"^(\d{1,3})[.)]\s+(.*)$")
_LETTER_RE = re.compile(r"^([a-z]|[ivx]{1,4})[.)]\s+(.*)$")
_BULLET_RE = re.compile(r"^[-*•]\s+(.*)$")
_SEP_RE = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_CAPTION_RE = re.compile(r"^(?:Table(?:\s+\d+)?\s*[:：.]|表\s*\d*\s*[：:.])\s*\S")
_NOTE_LABELS = (
    "Note",
    "Notes",
    "Warning",
    "Important",
    "Caution",
    "Tip",
    "Reminder",
    "注意",
    "警告",
    "重要",
    "重要提示",
    "提示",
    "注",
    "备注",
    "備註",
)
_NOTE_RE = re.compile(
    r"^\**(" + "|".join(sorted(map(re.escape, _NOTE_LABELS), key=len, reverse=True)) + r")"
    r"\s*[:：]\**\s*(.*)$",
    re.IGNORECASE,
)
_CJK_RE = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def is_cjk(ch: str) -> bool:
    return bool(ch) and bool(_CJK_RE.match(ch))


def _join_lines(parts: Sequence[str]) -> str:
    """Join wrapped source lines: a space between them unless both sides are CJK."""
    out = ""
    for part in parts:
        part = part.strip()
        if not part:
            continue
        if out and not (is_cjk(out[-1]) and is_cjk(part[0])):
            out += " "
        out += part
    return out


def _parse_date(value: str, key: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise SourceError(f"front matter {key!r}: not an ISO date (YYYY-MM-DD): {value!r}") from exc


def _split_row(line: str) -> tuple[str, ...]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    cells = re.split(r"(?<!\\)\|", line)
    return tuple(c.strip().replace("\\|", "|") for c in cells)


def parse_source_text(text: str, path: Path | None = None) -> Source:
    """Parse a source (front matter + body). Raises SourceError naming the offending line."""
    where = f"{path.name}: " if path else ""
    lines = text.replace("\r\n", "\n").replace("\ufeff", "").split("\n")
    if not lines or lines[0].strip() != "---":
        raise SourceError(f"{where}line 1: expected front matter starting with '---'")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise SourceError(f"{where}front matter is not closed with '---'") from None

    fm: dict[str, str] = {}
    for n in range(1, end):
        raw = re.sub(r"\s+#\s.*$", "", lines[n]).strip()
        if not raw or raw.startswith("#"):
            continue
        if ":" not in raw:
            raise SourceError(f"{where}line {n + 1}: front matter line is not 'key: value'")
        key, value = raw.split(":", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        fm[key.strip().lower()] = value
    missing = [k for k in _REQUIRED if not fm.get(k)]
    if missing:
        raise SourceError(f"{where}front matter is missing: {', '.join(missing)}")
    language = fm.get("language", "en")
    if language not in LANGUAGES:
        raise SourceError(f"{where}language must be one of {LANGUAGES}, not {language!r}")
    ext = Path(fm["file"]).suffix.lower().lstrip(".")
    if ext not in FORMATS:
        raise SourceError(f"{where}file {fm['file']!r}: unsupported extension (use {FORMATS})")
    if ext == "eml":
        for key in ("from", "to"):
            if not fm.get(key):
                raise SourceError(f"{where}an .eml source needs '{key}' in the front matter")
    known = {*_REQUIRED, "review_by", "expiry", "language"}
    meta = Meta(
        file=fm["file"],
        title=fm["title"],
        owner=fm["owner"],
        version=fm["version"],
        effective=_parse_date(fm["effective"], "effective"),
        review_by=_parse_date(fm["review_by"], "review_by") if fm.get("review_by") else None,
        expiry=_parse_date(fm["expiry"], "expiry") if fm.get("expiry") else None,
        language=language,
        extra=tuple((k, v) for k, v in fm.items() if k not in known),
    )
    blocks = _parse_body(lines[end + 1 :], first_line=end + 2, where=where)
    if ext == "csv" and not any(isinstance(b, Table) for b in blocks):
        raise SourceError(f"{where}a .csv source needs at least one table")
    return Source(meta=meta, blocks=tuple(blocks), path=path)


def parse_source(path: Path) -> Source:
    return parse_source_text(path.read_text(encoding="utf-8"), path)


def _parse_body(lines: list[str], first_line: int, where: str) -> list[Block]:
    blocks: list[Block] = []
    para: list[str] = []
    note: list[str] = []
    pending_caption: str | None = None
    i = 0

    def flush() -> None:
        nonlocal para, note
        if para:
            blocks.append(Paragraph(_join_lines(para)))
            para = []
        if note:
            body = _join_lines(note)
            m = _NOTE_RE.match(body)
            if m:
                label = next(lb for lb in _NOTE_LABELS if lb.lower() == m.group(1).lower())
                blocks.append(Note(label, m.group(2).strip()))
            else:
                blocks.append(Note("", body))
            note = []

    while i < len(lines):
        raw = lines[i].rstrip().expandtabs(4)
        stripped = raw.strip()
        indent = len(raw) - len(raw.lstrip(" "))

        if not stripped:
            flush()
            i += 1
            continue

        if stripped.startswith(">"):
            if para:
                flush()
            note.append(stripped.lstrip(">").strip())
            i += 1
            continue
        if note:
            flush()

        if stripped.startswith("|"):
            flush()
            rows: list[tuple[str, ...]] = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                row_line = lines[i].strip()
                if _SEP_RE.match(row_line):
                    if len(rows) != 1:
                        raise SourceError(
                            f"{where}line {first_line + i}: table separator must follow the header"
                        )
                else:
                    rows.append(_split_row(row_line))
                i += 1
            width = len(rows[0])
            norm = []
            for k, row in enumerate(rows):
                if len(row) > width:
                    raise SourceError(
                        f"{where}table ending line {first_line + i - 1}: row {k + 1} has "
                        f"{len(row)} cells, header has {width}"
                    )
                norm.append(row + ("",) * (width - len(row)))
            blocks.append(Table(tuple(norm), pending_caption))
            pending_caption = None
            continue

        if pending_caption is not None:  # a caption line not followed by a table: plain text
            blocks.append(Paragraph(pending_caption))
            pending_caption = None

        m = _HEADING_RE.match(stripped) if indent == 0 else None
        if m:
            flush()
            blocks.append(Heading(min(len(m.group(1)), 3), m.group(2)))
            i += 1
            continue

        level = 1 + (indent + 1) // 3 if indent else 1
        level = min(level, 3)
        m_num = _NUM_RE.match(stripped)
        m_let = _LETTER_RE.match(stripped) if indent else None
        m_bul = _BULLET_RE.match(stripped)
        if m_num or m_let or m_bul:
            flush()
            if m_num:
                blocks.append(NumberedItem(level, m_num.group(1), m_num.group(2).strip()))
            elif m_let:
                blocks.append(NumberedItem(level, m_let.group(1), m_let.group(2).strip()))
            else:
                assert m_bul
                blocks.append(Bullet(level, m_bul.group(1).strip()))
            i += 1
            continue

        if indent and not para and blocks and isinstance(blocks[-1], NumberedItem | Bullet):
            last = blocks[-1]  # continuation line of a list item
            blocks[-1] = replace(last, text=_join_lines([last.text, stripped]))
            i += 1
            continue

        if _CAPTION_RE.match(stripped):
            nxt = next((ln.strip() for ln in lines[i + 1 :] if ln.strip()), "")
            if nxt.startswith("|"):
                flush()
                caption = re.sub(r"^Table\s*:\s*", "", stripped)  # bare "Table:" is a marker
                pending_caption = caption
                i += 1
                continue

        para.append(stripped)
        i += 1
    flush()
    if pending_caption is not None:
        blocks.append(Paragraph(pending_caption))
    return blocks


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Title",
        "owner": "Document owner",
        "version": "Version",
        "effective": "Effective date",
        "review_by": "Review by",
        "expiry": "Expiry date",
        "sep": " | ",
        "colon": ": ",
        "note": "Note",
        "page": "Page {n}",
        "about": "About",
    },
    "zh-Hans": {
        "title": "标题",
        "owner": "文件负责部门",
        "version": "版本",
        "effective": "生效日期",
        "review_by": "复核日期",
        "expiry": "失效日期",
        "sep": " ｜ ",
        "colon": "：",
        "note": "注意",
        "page": "第 {n} 页",
        "about": "About",
    },
    "zh-Hant": {
        "title": "標題",
        "owner": "文件負責部門",
        "version": "版本",
        "effective": "生效日期",
        "review_by": "複核日期",
        "expiry": "失效日期",
        "sep": " ｜ ",
        "colon": "：",
        "note": "注意",
        "page": "第 {n} 頁",
        "about": "About",
    },
}


def fmt_date(d: dt.date, language: str) -> str:
    if language.startswith("zh"):
        return f"{d.year}年{d.month}月{d.day}日"
    return d.isoformat()


def meta_fields(meta: Meta) -> list[tuple[str, str]]:
    """(label, value) pairs of the metadata block, in display order."""
    lb = LABELS[meta.language]
    fields = [(lb["owner"], meta.owner), (lb["version"], meta.version)]
    fields.append((lb["effective"], fmt_date(meta.effective, meta.language)))
    if meta.review_by:
        fields.append((lb["review_by"], fmt_date(meta.review_by, meta.language)))
    if meta.expiry:
        fields.append((lb["expiry"], fmt_date(meta.expiry, meta.language)))
    return fields


def meta_line(meta: Meta) -> str:
    """'Document owner: X | Version: 3.2 | Effective date: 2025-03-01 | ...' (or Chinese)."""
    lb = LABELS[meta.language]
    return lb["sep"].join(f"{k}{lb['colon']}{v}" for k, v in meta_fields(meta))


def note_prefix(note: Note, language: str) -> str:
    """'Note:' / '注意：' (label and colon, no trailing space)."""
    label = note.label or LABELS[language]["note"]
    return label + ("：" if is_cjk(label[0]) else ":")


def note_sep(note: Note, language: str) -> str:
    return "" if note_prefix(note, language).endswith("：") else " "


_BOLD_RE = re.compile(r"\*\*(.+?)\*\*")


def runs(text: str) -> list[tuple[str, bool]]:
    """Split '**bold**' markup into (text, is_bold) runs."""
    out: list[tuple[str, bool]] = []
    pos = 0
    for m in _BOLD_RE.finditer(text):
        if m.start() > pos:
            out.append((text[pos : m.start()], False))
        out.append((m.group(1), True))
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], False))
    return out or [("", False)]


def plain(text: str) -> str:
    return _BOLD_RE.sub(r"\1", text)


def item_marker(item: ListItem) -> str:
    return f"{item.number}." if isinstance(item, NumberedItem) else "•"


@dataclass
class _Node:
    item: ListItem
    children: list[_Node] = field(default_factory=list)


def _forest(items: Sequence[ListItem]) -> list[_Node]:
    roots: list[_Node] = []
    stack: list[tuple[int, _Node]] = []
    for it in items:
        node = _Node(it)
        while stack and stack[-1][0] >= it.level:
            stack.pop()
        (stack[-1][1].children if stack else roots).append(node)
        stack.append((it.level, node))
    return roots


def _groups(blocks: Sequence[Block]) -> Iterator[Block | list[_Node]]:
    """Blocks in order, with each run of consecutive list items replaced by its forest."""
    run: list[ListItem] = []
    for b in blocks:
        if isinstance(b, NumberedItem | Bullet):
            run.append(b)
            continue
        if run:
            yield _forest(run)
            run = []
        yield b
    if run:
        yield _forest(run)


def _siblings(nodes: list[_Node]) -> Iterator[tuple[bool, list[_Node]]]:
    """Split sibling nodes into runs of the same list type: (ordered, nodes)."""
    cur: list[_Node] = []
    ordered = False
    for n in nodes:
        o = isinstance(n.item, NumberedItem)
        if cur and o != ordered:
            yield ordered, cur
            cur = []
        ordered = o
        cur.append(n)
    if cur:
        yield ordered, cur


def _when(meta: Meta) -> dt.datetime:
    return dt.datetime.combine(meta.effective, dt.time(9, 0))


def _normalise_zip(path: Path, when: dt.datetime) -> None:
    """Rewrite an OOXML zip with fixed timestamps so output is byte-for-byte repeatable."""
    with zipfile.ZipFile(path) as zin:
        items = [(info.filename, zin.read(info.filename)) for info in zin.infolist()]
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in items:
            if name == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:(?:modified|created)[^>]*>)[^<]*(</dcterms:)",
                    rb"\g<1>" + stamp + rb"\g<2>",
                    data,
                )
            info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zout.writestr(info, data)
    path.write_bytes(buf.getvalue())


def display_width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def _ljust(s: str, width: int) -> str:
    return s + " " * max(0, width - display_width(s))


# --------------------------------------------------------------------------------------------
# PDF (reportlab platypus)
# --------------------------------------------------------------------------------------------


def render_pdf(src: Source, path: Path, encrypt_password: str | None = None) -> None:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_LEFT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import KeepTogether, SimpleDocTemplate, Spacer, TableStyle
    from reportlab.platypus import Paragraph as RLParagraph
    from reportlab.platypus import Table as RLTable

    meta = src.meta
    zh = meta.is_zh
    if zh:
        # STSong-Light (Adobe-GB1) also has the Traditional glyphs. MSung-Light is NOT used for
        # zh-Hant: pdfminer/pdfplumber map its CIDs to the wrong characters (garbled text).
        cid = "STSong-Light"
        if cid not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(cid))
        pdfmetrics.registerFontFamily(cid, normal=cid, bold=cid, italic=cid, boldItalic=cid)
        regular = bold = italic = cid
    else:
        regular, bold, italic = "Helvetica", "Helvetica-Bold", "Helvetica-Oblique"
    wrap = "CJK" if zh else None
    # Bullets: the standard Helvetica "•" extracts as "(cid:127)" and STSong has no "•", so the
    # bullet glyph comes from Vera (shipped with reportlab), which extracts as U+2022.
    if "Vera" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("Vera", "Vera.ttf"))

    def style(name: str, **kw: object) -> ParagraphStyle:
        base = {"fontName": regular, "fontSize": 10, "leading": 14, "alignment": TA_LEFT}
        base.update(kw)
        if wrap:
            base["wordWrap"] = wrap
        return ParagraphStyle(name, **base)  # type: ignore[arg-type]

    st = {
        "title": style("DocTitle", fontName=bold, fontSize=22, leading=27, spaceAfter=6),
        "meta": style(
            "Meta", fontSize=8.5, leading=11, textColor=colors.HexColor("#444444"), spaceAfter=14
        ),
        1: style(
            "H1",
            fontName=bold,
            fontSize=18,
            leading=22,
            spaceBefore=14,
            spaceAfter=6,
            keepWithNext=1,
        ),
        2: style(
            "H2",
            fontName=bold,
            fontSize=14,
            leading=18,
            spaceBefore=10,
            spaceAfter=4,
            keepWithNext=1,
        ),
        3: style(
            "H3",
            fontName=bold,
            fontSize=12,
            leading=15,
            spaceBefore=8,
            spaceAfter=3,
            keepWithNext=1,
        ),
        "body": style("Body", spaceAfter=6),
        "note": style(
            "Note", fontName=italic, leftIndent=20, rightIndent=10, spaceBefore=2, spaceAfter=6
        ),
        "caption": style(
            "Caption",
            fontName=italic if not zh else regular,
            fontSize=9,
            leading=12,
            spaceBefore=4,
            spaceAfter=3,
            keepWithNext=1,
        ),
        "cell": style("Cell", fontSize=9, leading=11.5),
        "th": style("HeaderCell", fontName=bold, fontSize=9, leading=11.5),
    }

    def list_style(level: int, ordered: bool) -> ParagraphStyle:
        return style(
            f"List{level}{'n' if ordered else 'b'}",
            leftIndent=20 * level,
            bulletIndent=20 * level - 16,
            bulletFontName=regular if ordered else "Vera",
            spaceAfter=3,
        )

    def markup(text: str) -> str:
        out = _BOLD_RE.sub(r"<b>\1</b>", html.escape(text, quote=False))
        if zh:
            # STSong-Light has no pound sign: take it from Vera, or "£15" extracts as "15".
            out = out.replace("£", '<font name="Vera">£</font>')
        return out

    # The metadata block wraps only between fields (never inside "Effective date: ..."): each
    # line is "k: v | k: v", the separator at a break is dropped.
    avail_width = A4[0] - 40 * mm
    lb = LABELS[meta.language]
    meta_lines: list[str] = []
    for k, v in meta_fields(meta):
        part = f"{k}{lb['colon']}{v}"
        trial = f"{meta_lines[-1]}{lb['sep']}{part}" if meta_lines else part
        size = st["meta"].fontSize
        if meta_lines and pdfmetrics.stringWidth(trial, st["meta"].fontName, size) <= avail_width:
            meta_lines[-1] = trial
        else:
            meta_lines.append(part)
    story: list[object] = [
        RLParagraph(markup(meta.title), st["title"]),
        RLParagraph("<br/>".join(markup(x) for x in meta_lines), st["meta"]),
    ]
    for b in src.blocks:
        if isinstance(b, Heading):
            story.append(RLParagraph(markup(b.text), st[b.level]))
        elif isinstance(b, Paragraph):
            story.append(RLParagraph(markup(b.text), st["body"]))
        elif isinstance(b, NumberedItem | Bullet):
            ordered = isinstance(b, NumberedItem)
            story.append(
                RLParagraph(
                    markup(b.text),
                    list_style(b.level, ordered),
                    bulletText=item_marker(b),
                )
            )
        elif isinstance(b, Note):
            prefix = html.escape(note_prefix(b, meta.language))
            story.append(
                RLParagraph(
                    f"<b>{prefix}</b>{note_sep(b, meta.language)}{markup(b.text)}", st["note"]
                )
            )
        elif isinstance(b, Table):
            avail = avail_width
            ncols = len(b.rows[0])
            lens = [max(max(display_width(plain(r[c])) for r in b.rows), 4) for c in range(ncols)]
            lens = [min(n, 60) for n in lens]
            widths = [avail * n / sum(lens) for n in lens]
            data = [
                [RLParagraph(markup(cell), st["th"] if r == 0 else st["cell"]) for cell in row]
                for r, row in enumerate(b.rows)
            ]
            tbl = RLTable(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
            tbl.setStyle(
                TableStyle(
                    [
                        ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
                        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDDDDD")),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("LEFTPADDING", (0, 0), (-1, -1), 4),
                        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
                        ("TOPPADDING", (0, 0), (-1, -1), 3),
                        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                    ]
                )
            )
            parts: list[object] = []
            if b.caption:
                parts.append(RLParagraph(markup(b.caption), st["caption"]))
            parts.append(tbl)
            if len(b.rows) <= 12:
                story.append(KeepTogether(parts))
            else:
                story.extend(parts)
            story.append(Spacer(1, 6))

    page_label = LABELS[meta.language]["page"]

    def footer(canvas, doc) -> None:  # type: ignore[no-untyped-def]
        canvas.saveState()
        canvas.setFont(regular, 8)
        canvas.drawCentredString(A4[0] / 2, 12 * mm, page_label.format(n=doc.page))
        canvas.restoreState()

    encrypt = None
    if encrypt_password is not None:
        from reportlab.lib.pdfencrypt import StandardEncryption

        encrypt = StandardEncryption(encrypt_password, canPrint=1, strength=128)

    doc = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=22 * mm,
        title=meta.title,
        author=meta.owner,
        subject=f"{meta.title} (version {meta.version})",
        creator="AnswerDesk docgen",
        producer="AnswerDesk docgen (ReportLab)",
        invariant=1,
        encrypt=encrypt,
        lang=meta.language,
    )
    doc.build(story, onFirstPage=footer, onLaterPages=footer)


# --------------------------------------------------------------------------------------------
# DOCX (python-docx)
# --------------------------------------------------------------------------------------------

_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_ABSTRACT_ID = "90"
_DOCX_NUMBERING = f"""<w:abstractNum xmlns:w="{_W_NS}" w:abstractNumId="{_ABSTRACT_ID}">
  <w:multiLevelType w:val="multilevel"/>
  <w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1."/>
    <w:lvlJc w:val="left"/><w:pPr><w:ind w:left="360" w:hanging="360"/></w:pPr></w:lvl>
  <w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="lowerLetter"/><w:lvlText w:val="%2."/>
    <w:lvlJc w:val="left"/><w:pPr><w:ind w:left="720" w:hanging="360"/></w:pPr></w:lvl>
  <w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="lowerRoman"/><w:lvlText w:val="%3."/>
    <w:lvlJc w:val="left"/><w:pPr><w:ind w:left="1080" w:hanging="360"/></w:pPr></w:lvl>
</w:abstractNum>"""


def render_docx(src: Source, path: Path) -> None:
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import qn
    from docx.shared import Pt

    meta = src.meta
    d = docx.Document()
    cp = d.core_properties
    cp.title = meta.title
    cp.author = meta.owner
    cp.last_modified_by = meta.owner
    cp.subject = f"Version {meta.version}"
    cp.language = meta.language
    cp.revision = 1
    cp.created = cp.modified = _when(meta)
    cp.last_printed = _when(meta)
    cp.comments = ""
    cp.keywords = ""
    cp.category = ""

    if meta.is_zh:
        ea_font = "PMingLiU" if meta.language == "zh-Hant" else "SimSun"
        for name in ("Normal", "Title", "Heading 1", "Heading 2", "Heading 3", "Caption"):
            rpr = d.styles[name].element.get_or_add_rPr()
            rfonts = rpr.find(qn("w:rFonts"))
            if rfonts is None:
                rfonts = rpr.makeelement(qn("w:rFonts"), {})
                rpr.insert(0, rfonts)
            rfonts.set(qn("w:eastAsia"), ea_font)

    # Our own multilevel numbering (1. / a. / i.), restarted for every procedure.
    numbering = d.part.numbering_part.element
    abstract = parse_xml(_DOCX_NUMBERING)
    existing = numbering.findall(qn("w:abstractNum"))
    existing[-1].addnext(abstract)
    next_num = [100]

    def new_num(start: int) -> int:
        next_num[0] += 1
        nid = next_num[0]
        numbering.append(
            parse_xml(
                f'<w:num xmlns:w="{_W_NS}" w:numId="{nid}">'
                f'<w:abstractNumId w:val="{_ABSTRACT_ID}"/>'
                f'<w:lvlOverride w:ilvl="0"><w:startOverride w:val="{start}"/></w:lvlOverride>'
                "</w:num>"
            )
        )
        return nid

    def add_runs(p, text: str, italic: bool = False) -> None:  # type: ignore[no-untyped-def]
        for t, is_bold in runs(text):
            r = p.add_run(t)
            if is_bold:
                r.bold = True
            if italic:
                r.italic = True

    d.add_heading(meta.title, level=0)
    mp = d.add_paragraph(meta_line(meta))
    for r in mp.runs:
        r.font.size = Pt(9)

    current_num: int | None = None
    for idx, b in enumerate(src.blocks):
        if isinstance(b, Heading):
            d.add_heading(plain(b.text), level=b.level)
        elif isinstance(b, Paragraph):
            add_runs(d.add_paragraph(), b.text)
        elif isinstance(b, NumberedItem):
            if b.level == 1 and (current_num is None or b.number == "1"):
                current_num = new_num(int(b.number) if b.number.isdigit() else 1)
            if current_num is None:
                current_num = new_num(1)
            style = "List Number" if b.level == 1 else f"List Number {b.level}"
            p = d.add_paragraph(style=style)
            ppr = p._p.get_or_add_pPr()
            ppr.insert(
                1 if ppr.find(qn("w:pStyle")) is not None else 0,
                parse_xml(
                    f'<w:numPr xmlns:w="{_W_NS}"><w:ilvl w:val="{b.level - 1}"/>'
                    f'<w:numId w:val="{current_num}"/></w:numPr>'
                ),
            )
            add_runs(p, b.text)
        elif isinstance(b, Bullet):
            style = "List Bullet" if b.level == 1 else f"List Bullet {b.level}"
            add_runs(d.add_paragraph(style=style), b.text)
        elif isinstance(b, Note):
            p = d.add_paragraph()
            p.paragraph_format.left_indent = Pt(24)
            r = p.add_run(note_prefix(b, meta.language) + note_sep(b, meta.language))
            r.bold = True
            r.italic = True
            add_runs(p, b.text, italic=True)
        elif isinstance(b, Table):
            if b.caption:
                d.add_paragraph(plain(b.caption), style="Caption")
            t = d.add_table(rows=len(b.rows), cols=len(b.rows[0]))
            t.style = d.styles["Table Grid"]
            for r_i, row in enumerate(b.rows):
                for c_i, cell_text in enumerate(row):
                    cell = t.cell(r_i, c_i)
                    p = cell.paragraphs[0]
                    for text, is_bold in runs(cell_text):
                        run = p.add_run(text)
                        if r_i == 0 or is_bold:
                            run.bold = True
            tr_pr = t.rows[0]._tr.get_or_add_trPr()
            tr_pr.append(tr_pr.makeelement(qn("w:tblHeader"), {}))
            nxt = src.blocks[idx + 1] if idx + 1 < len(src.blocks) else None
            if isinstance(nxt, Table) and not nxt.caption:
                d.add_paragraph()  # Word merges adjacent tables without a paragraph between
        # A note or a sub-bullet between steps keeps the numbering going; anything else ends
        # the procedure (the next "1." restarts at 1 anyway, a later "3." continues at 3).
        if isinstance(b, Heading | Paragraph | Table) or (isinstance(b, Bullet) and b.level == 1):
            current_num = None
    d.save(str(path))
    _normalise_zip(path, _when(meta))


# --------------------------------------------------------------------------------------------
# PPTX (python-pptx)
# --------------------------------------------------------------------------------------------

_SLIDE_MAX_PARAS = 8
_SLIDE_MAX_CHARS = 650
_TABLE_MAX_ROWS = 10


def render_pptx(src: Source, path: Path) -> None:
    from pptx import Presentation
    from pptx.util import Emu, Inches, Pt

    meta = src.meta
    prs = Presentation()
    cp = prs.core_properties
    cp.title = meta.title
    cp.author = meta.owner
    cp.last_modified_by = meta.owner
    cp.subject = f"Version {meta.version}"
    cp.language = meta.language
    cp.revision = 1
    cp.created = cp.modified = _when(meta)
    cp.last_printed = _when(meta)

    lay_title, lay_content, lay_section, lay_title_only = (
        prs.slide_layouts[i] for i in (0, 1, 2, 5)
    )
    char_budget = _SLIDE_MAX_CHARS // 2 if meta.is_zh else _SLIDE_MAX_CHARS

    def drop_empty_placeholders(slide) -> None:  # type: ignore[no-untyped-def]
        for ph in list(slide.placeholders):
            if ph.has_text_frame and not ph.text_frame.text.strip():
                ph._element.getparent().remove(ph._element)

    def set_runs(par, text: str, size: int, italic: bool = False) -> None:  # type: ignore[no-untyped-def]
        for t, is_bold in runs(text):
            r = par.add_run()
            r.text = t
            r.font.size = Pt(size)
            if is_bold:
                r.font.bold = True
            if italic:
                r.font.italic = True

    s = prs.slides.add_slide(lay_title)
    s.shapes.title.text = meta.title
    s.placeholders[1].text = meta_line(meta)
    for par in s.placeholders[1].text_frame.paragraphs:
        for r in par.runs:
            r.font.size = Pt(14)

    title = meta.title
    body: list[tuple[int, str, bool]] = []  # (level, text, italic)
    heading_only: str | None = None  # a heading waiting for content

    def flush_body() -> None:
        nonlocal body, heading_only
        if heading_only is not None and not body:
            sec = prs.slides.add_slide(lay_section)
            sec.shapes.title.text = heading_only
            drop_empty_placeholders(sec)
        heading_only = None
        chunk: list[tuple[int, str, bool]] = []
        chars = 0
        pages: list[list[tuple[int, str, bool]]] = []
        for entry in body:
            if chunk and (len(chunk) >= _SLIDE_MAX_PARAS or chars + len(entry[1]) > char_budget):
                pages.append(chunk)
                chunk, chars = [], 0
            chunk.append(entry)
            chars += len(entry[1])
        if chunk:
            pages.append(chunk)
        for page in pages:
            sl = prs.slides.add_slide(lay_content)
            sl.shapes.title.text = title
            tf = sl.placeholders[1].text_frame
            tf.word_wrap = True
            for k, (level, text, italic) in enumerate(page):
                par = tf.paragraphs[0] if k == 0 else tf.add_paragraph()
                par.level = level
                set_runs(par, text, 18 if level == 0 else 16, italic)
        body = []

    for b in src.blocks:
        if isinstance(b, Heading) and b.level <= 2:
            flush_body()
            title = plain(b.text)
            heading_only = title
        elif isinstance(b, Heading):
            body.append((0, f"**{plain(b.text)}**", False))
        elif isinstance(b, Paragraph):
            body.append((0, b.text, False))
        elif isinstance(b, NumberedItem):
            body.append((b.level - 1, f"{b.number}. {b.text}", False))
        elif isinstance(b, Bullet):
            body.append((b.level - 1, b.text, False))
        elif isinstance(b, Note):
            sep = note_sep(b, meta.language)
            body.append((0, f"**{note_prefix(b, meta.language)}**{sep}{b.text}", True))
        elif isinstance(b, Table):
            if not body:
                heading_only = None  # the table slide carries the heading
            flush_body()
            header, data = b.rows[0], b.rows[1:]
            pages = [
                data[i : i + _TABLE_MAX_ROWS] for i in range(0, max(len(data), 1), _TABLE_MAX_ROWS)
            ]
            for page in pages:
                sl = prs.slides.add_slide(lay_title_only)
                sl.shapes.title.text = title
                top = Inches(1.6)
                if b.caption:
                    tb = sl.shapes.add_textbox(Inches(0.5), Inches(1.45), Inches(9), Inches(0.4))
                    set_runs(tb.text_frame.paragraphs[0], plain(b.caption), 14, italic=True)
                    top = Inches(1.95)
                rows = (header, *page)
                ncols = len(header)
                width = Inches(9)
                gf = sl.shapes.add_table(
                    len(rows), ncols, Inches(0.5), top, width, Inches(0.4) * len(rows)
                )
                tbl = gf.table
                lens = [max(max(display_width(plain(r[c])) for r in rows), 4) for c in range(ncols)]
                lens = [min(n, 50) for n in lens]
                for c in range(ncols):
                    tbl.columns[c].width = Emu(int(width * lens[c] / sum(lens)))
                for r_i, row in enumerate(rows):
                    for c_i, text in enumerate(row):
                        tf = tbl.cell(r_i, c_i).text_frame
                        tf.word_wrap = True
                        par = tf.paragraphs[0]
                        set_runs(par, text, 12)
                        if r_i == 0:
                            for r in par.runs:
                                r.font.bold = True
    flush_body()
    prs.save(str(path))
    _normalise_zip(path, _when(meta))


# --------------------------------------------------------------------------------------------
# XLSX (openpyxl)
# --------------------------------------------------------------------------------------------

_NUMBER_RE = re.compile(r"^-?(0|[1-9]\d*)(\.\d+)?$")


def _sheet_title(text: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", plain(text))
    base = re.sub(r"\s+", " ", base).strip().strip("'")[:31].strip() or "Table"
    name, n = base, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)].rstrip() + suffix
        n += 1
    used.add(name.lower())
    return name


def render_xlsx(src: Source, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    meta = src.meta
    lb = LABELS[meta.language]
    wb = Workbook()
    wb.properties.title = meta.title
    wb.properties.creator = meta.owner
    wb.properties.lastModifiedBy = meta.owner
    wb.properties.subject = f"Version {meta.version}"
    wb.properties.language = meta.language
    wb.properties.created = wb.properties.modified = _when(meta)

    about = wb.active
    about.title = lb["about"]
    used = {about.title.lower()}
    about.append([lb["title"], meta.title])
    for label, value in meta_fields(meta):
        about.append([label, value])
    for row in about.iter_rows(min_row=1, max_row=about.max_row, max_col=1):
        row[0].font = Font(bold=True)
    about.append([])
    about.column_dimensions["A"].width = 18 if not meta.is_zh else 16
    about.column_dimensions["B"].width = 60

    heading = None
    table_no = 0
    for b in src.blocks:
        if isinstance(b, Heading):
            heading = plain(b.text)
            about.append([heading])
            about.cell(about.max_row, 1).font = Font(bold=True)
        elif isinstance(b, Paragraph):
            about.append([plain(b.text)])
        elif isinstance(b, NumberedItem | Bullet):
            marker = f"{b.number}." if isinstance(b, NumberedItem) else "-"
            about.append([f"{'   ' * (b.level - 1)}{marker} {plain(b.text)}"])
        elif isinstance(b, Note):
            about.append(
                [f"{note_prefix(b, meta.language)}{note_sep(b, meta.language)}{plain(b.text)}"]
            )
        elif isinstance(b, Table):
            table_no += 1
            name = _sheet_title(heading or b.caption or f"Table {table_no}", used)
            ws = wb.create_sheet(name)
            if b.caption:
                about.append([plain(b.caption)])
            for r_i, row in enumerate(b.rows):
                values: list[object] = []
                for cell in row:
                    text = plain(cell)
                    if r_i and _NUMBER_RE.match(text):
                        values.append(float(text) if "." in text else int(text))
                    else:
                        values.append(text)
                ws.append(values)
            for cell in ws[1]:
                cell.font = Font(bold=True)
            ws.freeze_panes = "A2"
            for c in range(len(b.rows[0])):
                w = max(display_width(plain(r[c])) for r in b.rows)
                ws.column_dimensions[get_column_letter(c + 1)].width = min(max(w + 2, 8), 60)
                for r_i in range(2, len(b.rows) + 1):
                    ws.cell(r_i, c + 1).alignment = Alignment(wrap_text=True, vertical="top")
    wb.save(str(path))
    _normalise_zip(path, _when(meta))


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

_CSS = """body{font-family:Arial,"Microsoft YaHei","PingFang SC",sans-serif;max-width:50em;
margin:2em auto;line-height:1.5}
.doc-meta{color:#555;font-size:.9em}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #999;padding:.3em .6em;
text-align:left;vertical-align:top}th{background:#eee}caption{font-style:italic;text-align:left}
.note{margin-left:2em;font-style:italic}"""


def _h(text: str) -> str:
    return _BOLD_RE.sub(r"<strong>\1</strong>", html.escape(text, quote=False))


def html_body(src: Source) -> list[str]:
    """The <body> content lines (also used for the e-mail HTML part)."""
    meta = src.meta
    out = [f"<h1>{_h(meta.title)}</h1>", f'<p class="doc-meta">{_h(meta_line(meta))}</p>']

    def render_nodes(nodes: list[_Node], depth: int) -> None:
        pad = "  " * depth
        for ordered, group in _siblings(nodes):
            if ordered:
                first = group[0].item
                assert isinstance(first, NumberedItem)
                attrs = ""
                if first.number.isdigit():
                    attrs = f' start="{first.number}"' if first.number != "1" else ""
                elif first.level >= 3 and set(first.number) <= set("ivx"):
                    attrs = ' type="i"'
                else:
                    attrs = ' type="a"'
                    if len(first.number) == 1 and first.number != "a":
                        attrs += f' start="{ord(first.number) - 96}"'
                out.append(f"{pad}<ol{attrs}>")
            else:
                out.append(f"{pad}<ul>")
            for n in group:
                if n.children:
                    out.append(f"{pad}  <li>{_h(n.item.text)}")
                    render_nodes(n.children, depth + 2)
                    out.append(f"{pad}  </li>")
                else:
                    out.append(f"{pad}  <li>{_h(n.item.text)}</li>")
            out.append(f"{pad}</{'ol' if ordered else 'ul'}>")

    for g in _groups(src.blocks):
        if isinstance(g, list):
            render_nodes(g, 0)
        elif isinstance(g, Heading):
            lvl = min(g.level + 1, 6)
            out.append(f"<h{lvl}>{_h(g.text)}</h{lvl}>")
        elif isinstance(g, Paragraph):
            out.append(f"<p>{_h(g.text)}</p>")
        elif isinstance(g, Note):
            sep = note_sep(g, meta.language)
            out.append(
                f'<p class="note"><strong>{html.escape(note_prefix(g, meta.language))}</strong>'
                f"{sep}{_h(g.text)}</p>"
            )
        elif isinstance(g, Table):
            out.append("<table>")
            if g.caption:
                out.append(f"  <caption>{_h(g.caption)}</caption>")
            out.append("  <thead>")
            out.append("    <tr>" + "".join(f"<th>{_h(c)}</th>" for c in g.rows[0]) + "</tr>")
            out.append("  </thead>")
            out.append("  <tbody>")
            for row in g.rows[1:]:
                out.append("    <tr>" + "".join(f"<td>{_h(c)}</td>" for c in row) + "</tr>")
            out.append("  </tbody>")
            out.append("</table>")
    return out


def html_text(src: Source) -> str:
    meta = src.meta
    head = [
        "<!DOCTYPE html>",
        f'<html lang="{meta.language}">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{html.escape(meta.title)}</title>",
        f'<meta name="author" content="{html.escape(meta.owner)}">',
        f'<meta name="version" content="{html.escape(meta.version)}">',
        f'<meta name="effective-date" content="{meta.effective.isoformat()}">',
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
    ]
    return "\n".join([*head, *html_body(src), "</main>", "</body>", "</html>", ""])


def render_html(src: Source, path: Path) -> None:
    path.write_text(html_text(src), encoding="utf-8", newline="\n")


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_text(src: Source) -> str:
    meta = src.meta
    out: list[str] = [f"# {meta.title}", "", meta_line(meta), ""]

    def render_nodes(nodes: list[_Node], indent: int) -> None:
        for ordered, group in _siblings(nodes):
            for k, n in enumerate(group):
                if ordered:
                    item = n.item
                    assert isinstance(item, NumberedItem)
                    num = item.number if item.number.isdigit() else str(k + 1)
                    marker = f"{num}."
                else:
                    marker = "-"
                out.append(f"{' ' * indent}{marker} {n.item.text}")
                if n.children:
                    render_nodes(n.children, indent + len(marker) + 1)

    for g in _groups(src.blocks):
        if isinstance(g, list):
            render_nodes(g, 0)
        elif isinstance(g, Heading):
            out.append(f"{'#' * min(g.level + 1, 6)} {g.text}")
        elif isinstance(g, Paragraph):
            out.append(g.text)
        elif isinstance(g, Note):
            sep = note_sep(g, meta.language)
            out.append(f"> **{note_prefix(g, meta.language)}**{sep}{g.text}")
        elif isinstance(g, Table):
            if g.caption:
                out.extend([g.caption, ""])
            out.append("| " + " | ".join(_md_cell(c) for c in g.rows[0]) + " |")
            out.append("|" + "|".join("---" for _ in g.rows[0]) + "|")
            for row in g.rows[1:]:
                out.append("| " + " | ".join(_md_cell(c) for c in row) + " |")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def render_md(src: Source, path: Path) -> None:
    path.write_text(markdown_text(src), encoding="utf-8", newline="\n")


# --------------------------------------------------------------------------------------------
# Plain text
# --------------------------------------------------------------------------------------------


def text_table(table: Table) -> list[str]:
    rows = [[plain(c) for c in r] for r in table.rows]
    widths = [max(display_width(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = ["  ".join(_ljust(c, w) for c, w in zip(rows[0], widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows[1:]:
        lines.append("  ".join(_ljust(c, w) for c, w in zip(r, widths, strict=True)).rstrip())
    return lines


def plain_text(src: Source) -> str:
    meta = src.meta
    out = [meta.title, "=" * display_width(meta.title), "", meta_line(meta), ""]
    counters = [0, 0, 0]
    prev_list = False
    for b in src.blocks:
        is_list = isinstance(b, NumberedItem | Bullet)
        if prev_list and not is_list:
            out.append("")
        if isinstance(b, Heading):
            lvl = b.level
            counters[lvl - 1] += 1
            for k in range(lvl, 3):
                counters[k] = 0
            nums = [str(max(c, 1)) for c in counters[:lvl]]
            number = f"{nums[0]}." if lvl == 1 else ".".join(nums)
            out.extend([f"{number} {plain(b.text)}", ""])
        elif isinstance(b, Paragraph):
            out.extend([plain(b.text), ""])
        elif isinstance(b, NumberedItem):
            out.append(f"{'   ' * (b.level - 1)}{b.number}) {plain(b.text)}")
        elif isinstance(b, Bullet):
            out.append(f"{'   ' * (b.level - 1)}{'-' if b.level == 1 else '*'} {plain(b.text)}")
        elif isinstance(b, Note):
            sep = note_sep(b, meta.language)
            out.extend([f"{note_prefix(b, meta.language)}{sep}{plain(b.text)}", ""])
        elif isinstance(b, Table):
            if b.caption:
                out.append(plain(b.caption))
            out.extend([*text_table(b), ""])
        prev_list = is_list
    return "\n".join(out).rstrip("\n") + "\n"


def render_txt(src: Source, path: Path) -> None:
    path.write_text(plain_text(src), encoding="utf-8", newline="\n")


# --------------------------------------------------------------------------------------------
# E-mail (RFC 5322, multipart/alternative)
# --------------------------------------------------------------------------------------------


_HKT = dt.timezone(dt.timedelta(hours=8))


def _mail_date(value: str | None, meta: Meta) -> str:
    if not value:
        when = dt.datetime.combine(
            meta.effective, dt.time(9, 0), dt.timezone(dt.timedelta(hours=8))
        )
        return email.utils.format_datetime(when)
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return email.utils.format_datetime(email.utils.parsedate_to_datetime(value))
    if when.tzinfo is None:
        when = when.replace(tzinfo=_HKT)
    return email.utils.format_datetime(when)


def email_message(src: Source) -> EmailMessage:
    meta = src.meta
    msg = EmailMessage()
    msg["From"] = meta.get("from") or ""
    msg["To"] = meta.get("to") or ""
    if meta.get("cc"):
        msg["Cc"] = meta.get("cc")
    msg["Subject"] = meta.get("subject") or meta.title
    msg["Date"] = _mail_date(meta.get("date"), meta)
    digest = hashlib.sha1(f"{meta.file}|{meta.title}|{meta.version}".encode()).hexdigest()
    domain = (meta.get("from") or "bank.example").rsplit("@", 1)[-1].strip("> ")
    msg["Message-ID"] = f"<{digest[:20]}@{domain}>"
    msg["Content-Language"] = meta.language
    msg.set_content(plain_text(src), charset="utf-8")
    msg.add_alternative(html_text(src), subtype="html", charset="utf-8")
    msg.set_boundary(f"=_answerdesk_{digest[:16]}")
    return msg


def render_eml(src: Source, path: Path) -> None:
    path.write_bytes(email_message(src).as_bytes(policy=SMTP))


# --------------------------------------------------------------------------------------------
# CSV (first table only)
# --------------------------------------------------------------------------------------------


def render_csv(src: Source, path: Path) -> None:
    tables = src.tables()
    if not tables:
        raise SourceError(f"{src.meta.file}: CSV output needs a table in the source")
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        for row in tables[0].rows:
            w.writerow([plain(c) for c in row])


# --------------------------------------------------------------------------------------------
# Dispatch
# --------------------------------------------------------------------------------------------

RENDERERS: dict[str, Callable[[Source, Path], None]] = {
    "pdf": render_pdf,
    "docx": render_docx,
    "pptx": render_pptx,
    "xlsx": render_xlsx,
    "html": render_html,
    "htm": render_html,
    "md": render_md,
    "txt": render_txt,
    "eml": render_eml,
    "csv": render_csv,
}


def render(src: Source, out: Path, file_name: str | None = None) -> Path:
    """Render `src` into directory `out` (named by its `file:` key unless `file_name` is given);
    the extension picks the format. Returns the written path."""
    name = file_name or src.meta.file
    ext = Path(name).suffix.lower().lstrip(".")
    if ext not in RENDERERS:
        raise SourceError(f"{name}: no renderer for .{ext}")
    out.mkdir(parents=True, exist_ok=True)
    target = out / name
    RENDERERS[ext](src, target)
    return target


def with_file(src: Source, file_name: str) -> Source:
    """A copy of `src` rendered under another name (and so possibly another format)."""
    return replace(src, meta=replace(src.meta, file=file_name))

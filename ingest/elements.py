"""Everything but PDF: unstructured partitioners in, Blocks out.

unstructured does the format work (Word styles, slide shapes, sheets, HTML tags). Three things
it gets wrong for procedures are fixed here, before and after it runs:

- HTML and Markdown ordered lists lose their numbers and nested sub-steps are merged into
  their parent step's text. We write the numbers into the list items and lift nested items
  up beside their parent, so "2. Reset the password" and "a. Send the code" survive.
- Chinese paragraphs come out as titles (its heading heuristics look for capitalised words).
- A slide's table can come before the slide's title (shape order, not reading order).
"""

from __future__ import annotations

import email
import email.policy
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from ingest.plaintext import split_fixed_width_tables
from ingest.steps import is_step
from ingest.tables import rows_from_html, table_text
from ingest.unstructured_offline import prepare
from kb.errors import CorruptDocumentError
from kb.types import Block, BlockKind

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_CJK_SENTENCE = re.compile(r"[。！？；，：:]")
_SKIPPED = {"Header", "Footer", "PageBreak", "PageNumber", "Image", "Formula"}
_NESTED_MARKER = re.compile(r"^\s*(?:[a-z][.)]|\([a-z]\)|[ivx]+[.)]|◦)\s", re.I)
_TEXT_HEADING = re.compile(r"^\d+(?:\.\d+)*\.?\s+\S(?:(?![.!?:。：]$).){0,70}$")
_CAPTION = re.compile(r"^(?:table|tab\.|表|附表)\s*\d+\s*[:：.]", re.I)
_DOTTED_NUMBER = re.compile(r"^(\d+(?:\.\d+)+)\.?\s")


@dataclass(frozen=True)
class ElementsContent:
    blocks: tuple[Block, ...]
    title: str | None = None
    page_count: int | None = None
    properties: tuple[tuple[str, str], ...] = ()


def decode_text(data: bytes) -> str:
    """Decode a text file: UTF-8 (with or without BOM), UTF-16, then the Chinese code pages."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "gb18030", "big5"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


# ---------------------------------------------------------------- HTML list preparation


def _alpha(n: int) -> str:
    return chr(ord("a") + (n - 1) % 26)


def _roman(n: int) -> str:
    numerals = [(10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")]
    out = ""
    for value, numeral in numerals:
        while n >= value:
            out, n = out + numeral, n - value
    return out


def _marker(list_el: Any, index: int, depth: int) -> str:
    if list_el.tag == "ul":
        return "• " if depth == 1 else "◦ "
    kind = (list_el.get("type") or {1: "1", 2: "a"}.get(depth, "i")).strip()
    try:
        n = int(list_el.get("start", "1")) + index - 1
    except ValueError:
        n = index
    if kind in ("a", "A"):
        label = _alpha(n) if kind == "a" else _alpha(n).upper()
    elif kind in ("i", "I"):
        label = _roman(n) if kind == "i" else _roman(n).upper()
    else:
        label = str(n)
    return f"{label}. "


def _flatten_list(list_el: Any, depth: int) -> list[Any]:
    """The <li> of a list and of its nested lists, in order, each prefixed with its marker."""
    from lxml import html as lxml_html

    items = []
    for index, li in enumerate([c for c in list_el if c.tag == "li"], 1):
        nested = [c for c in li if c.tag in ("ol", "ul")]
        for sub in nested:
            li.remove(sub)
        text = re.sub(r"\s+", " ", li.text_content()).strip()
        if not re.match(r"^\s*(\d+|[a-z]|[ivx]+)[.)]\s", text, re.I):
            text = _marker(list_el, index, depth) + text
        new_li = lxml_html.Element("li")
        new_li.text = text
        items.append(new_li)
        for sub in nested:
            items.extend(_flatten_list(sub, depth + 1))
    return items


def prepare_html(markup: str) -> str:
    """Write list numbers into items and lift nested items up beside their parent."""
    from lxml import html as lxml_html

    try:
        root = lxml_html.document_fromstring(markup)
    except Exception as e:  # lxml.etree.ParserError on empty or hopeless markup
        raise CorruptDocumentError(f"the HTML cannot be read ({e})") from e
    top_lists = [
        el
        for el in root.iter("ol", "ul")
        if not any(a.tag in ("ol", "ul") for a in el.iterancestors())
    ]
    for list_el in top_lists:
        flat = _flatten_list(list_el, 1)
        for child in list(list_el):
            list_el.remove(child)
        list_el.extend(flat)
    return lxml_html.tostring(root, encoding="unicode")


def ooxml_title(data: bytes) -> str | None:
    """The title an Office file carries in its properties (docProps/core.xml), if any."""
    import html
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            core = archive.read("docProps/core.xml").decode("utf-8", "replace")
    except (KeyError, zipfile.BadZipFile):
        return None
    match = re.search(r"<dc:title[^>]*>(.*?)</dc:title>", core, re.S)
    return html.unescape(match.group(1)).strip() or None if match else None


def html_title(markup: str) -> str | None:
    match = re.search(r"<title[^>]*>(.*?)</title>", markup, re.I | re.S)
    return re.sub(r"\s+", " ", match.group(1)).strip() or None if match else None


# ---------------------------------------------------------------- elements -> blocks


def _looks_like_cjk_sentence(text: str) -> bool:
    return bool(_CJK.search(text)) and (len(text) > 25 or bool(_CJK_SENTENCE.search(text)))


def _title_level(element: Any, fmt: str) -> int:
    depth = element.metadata.category_depth
    if fmt == "txt":
        dotted = _DOTTED_NUMBER.match(element.text)
        if dotted:
            return dotted.group(1).count(".") + 1
    return (depth or 0) + 1


def _list_level(text: str, depth: int | None) -> int:
    if _NESTED_MARKER.match(text):
        return 2
    return max(1, depth or 1) if depth and depth > 1 else 1


def _is_heading(kind: str, text: str, fmt: str) -> bool:
    """unstructured's element type, corrected where its heuristics are known to be wrong."""
    if _CAPTION.match(text):
        return False  # "Table 1: Fees" names the table below, it does not open a section
    if kind == "Title":
        return not _looks_like_cjk_sentence(text)
    # Plain text has no markup: "2. Large deposits" / "1.3 Internal queues" are headings.
    return fmt == "txt" and (
        (kind == "ListItem" and _TEXT_HEADING.match(text) is not None)
        or (_DOTTED_NUMBER.match(text) is not None and _TEXT_HEADING.match(text) is not None)
    )


def to_blocks(elements: Iterable[Any], fmt: str) -> list[Block]:
    blocks: list[Block] = []
    for element in elements:
        kind = type(element).__name__
        text = (element.text or "").strip()
        if kind in _SKIPPED:
            continue
        page = element.metadata.page_number
        if kind == "Table":
            rows = rows_from_html(element.metadata.text_as_html or "")
            if not rows and text:
                rows = ((text,),)
            if rows:
                blocks.append(Block(BlockKind.TABLE, table_text(rows), page, 1, rows=rows))
            continue
        if not text:
            continue
        depth = element.metadata.category_depth
        if _is_heading(kind, text, fmt):
            blocks.append(Block(BlockKind.TITLE, text, page, _title_level(element, fmt)))
        elif kind == "ListItem" or (
            fmt == "pptx" and (is_step(text) or _NESTED_MARKER.match(text))
        ):
            # A slide's body paragraphs are bullets; "1. ..." on a slide is a step.
            blocks.append(Block(BlockKind.LIST_ITEM, text, page, _list_level(text, depth)))
        else:
            blocks.append(Block(BlockKind.TEXT, text, page, 1))
    return blocks


def plain_text_blocks(text: str) -> list[Block]:
    """Plain text: typed tables become real tables, the prose goes through unstructured."""
    from unstructured.partition.text import partition_text

    blocks: list[Block] = []
    for segment in split_fixed_width_tables(text):
        if isinstance(segment, str):
            if segment.strip():
                blocks.extend(to_blocks(partition_text(text=segment), "txt"))
        else:
            blocks.append(Block(BlockKind.TABLE, table_text(segment), None, 1, rows=segment))
    return blocks


def _titles_first_per_page(blocks: list[Block]) -> list[Block]:
    """Slides: the slide title is read first, whatever the shape order says."""
    ordered: list[Block] = []
    by_page: dict[int | None, list[Block]] = {}
    pages: list[int | None] = []
    for block in blocks:
        if block.page not in by_page:
            by_page[block.page] = []
            pages.append(block.page)
        by_page[block.page].append(block)
    previous_title: str | None = None
    for page in pages:
        group = by_page[page]
        titles = [b for b in group if b.kind == BlockKind.TITLE][:1]
        rest = [b for b in group if b not in titles]
        # A slide titled like the one before continues it ("Steps", then "Steps" again, or
        # "Steps (cont.)"): keep its content in the same section.
        if titles and previous_title and _continues(titles[0].text, previous_title):
            titles = []
        elif titles:
            previous_title = titles[0].text
        ordered.extend(titles + rest)
    return ordered


def _continues(title: str, previous: str) -> bool:
    stripped = re.sub(
        r"\s*[(（]\s*(?:cont(?:inued|'d|\.)?|续|續)\s*[)）]\s*$", "", title, flags=re.I
    )
    return stripped.casefold() == previous.casefold()


# ---------------------------------------------------------------- per-format entry points


def _email_content(data: bytes) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    message = email.message_from_bytes(data, policy=email.policy.default)
    if not isinstance(message, EmailMessage) or not message.keys():
        raise CorruptDocumentError("the e-mail has no headers: damaged or not an .eml file")
    props = tuple(
        (key.lower(), str(message[key]))
        for key in ("From", "To", "Subject", "Date")
        if message[key]
    )
    body = message.get_body(preferencelist=("html", "plain"))
    if body is None:
        return "text/plain", "", props
    return body.get_content_type(), body.get_content(), props


def parse_with_unstructured(data: bytes, fmt: str) -> ElementsContent:
    """Partition `data` (already checked to be `fmt`) and convert the elements to Blocks."""
    prepare()
    title: str | None = None
    props: tuple[tuple[str, str], ...] = ()
    try:
        if fmt in ("html", "md", "eml"):
            from unstructured.partition.html import partition_html

            if fmt == "eml":
                content_type, body, props = _email_content(data)
                title = dict(props).get("subject")
                if content_type == "text/plain":
                    return ElementsContent(tuple(plain_text_blocks(body)), title, None, props)
                markup = body
            elif fmt == "md":
                import markdown

                markup = markdown.markdown(decode_text(data), extensions=["tables", "sane_lists"])
            else:
                markup = decode_text(data)
                title = html_title(markup)
            elements = partition_html(text=prepare_html(markup)) if markup.strip() else []
        elif fmt == "txt":
            return ElementsContent(tuple(plain_text_blocks(decode_text(data))), title, None, props)
        elif fmt == "docx":
            from unstructured.partition.docx import partition_docx

            elements = partition_docx(file=io.BytesIO(data))
        elif fmt == "pptx":
            from unstructured.partition.pptx import partition_pptx

            elements = partition_pptx(file=io.BytesIO(data))
        elif fmt == "xlsx":
            from unstructured.partition.xlsx import partition_xlsx

            elements = partition_xlsx(file=io.BytesIO(data))
        elif fmt == "csv":
            from unstructured.partition.csv import partition_csv

            elements = partition_csv(file=io.BytesIO(data))
        else:  # pragma: no cover - sniff.detect_format only returns the formats above
            raise ValueError(f"no unstructured partitioner for {fmt!r}")
    except CorruptDocumentError:
        raise
    except Exception as e:
        raise CorruptDocumentError(
            f"the .{fmt} file cannot be read ({type(e).__name__}: {e})"
        ) from e

    blocks = to_blocks(elements, fmt)
    if fmt in ("docx", "pptx", "xlsx"):
        title = ooxml_title(data)
    page_count = None
    if fmt == "xlsx":
        blocks, page_count = _sheets_as_sections(elements, blocks)
    if fmt == "pptx":
        blocks = _titles_first_per_page(blocks)
        page_count = max((b.page or 0 for b in blocks), default=0) or None
    return ElementsContent(tuple(blocks), title, page_count, props)


def _sheets_as_sections(elements: list[Any], blocks: list[Block]) -> tuple[list[Block], int]:
    """Each worksheet becomes a section named after the sheet, so its table has a heading."""
    names = {e.metadata.page_number: e.metadata.page_name for e in elements}
    out: list[Block] = []
    seen: set[int | None] = set()
    for block in blocks:
        if block.page not in seen:
            seen.add(block.page)
            name = names.get(block.page)
            if name:
                out.append(Block(BlockKind.TITLE, str(name), block.page, 1))
        out.append(block)
    return out, len(seen)

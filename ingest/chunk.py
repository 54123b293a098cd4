"""Structure-aware chunking: a ParsedDocument's blocks become retrievable Chunks. Pure.

Why structure matters for a contact-centre knowledge base: an agent asking "how do I block a
lost card" needs all the steps, in order, with the warning that sits between step 3 and step 4.
A fixed-size splitter would cut that procedure in half and retrieve only one half. So:

* every chunk belongs to exactly one section and starts with that section's heading path, so
  the embedded text carries its context ("Card services > Lost or stolen cards > Reporting");
* a numbered procedure (intro, steps, sub-steps, notes between steps) is one chunk, split only at
  top-level step boundaries when it is very long, each part repeating the heading;
* a table is always one chunk, rendered as Markdown rows under its heading and caption;
* other text is packed into passages of about `max_chars` weighted characters (CJK counts 2).

Chunk ids are `{document_id}:v{version}:{position}`, so the same input always yields the same
ids and hashes (idempotent re-ingestion).

Step numbering ("1.", "第三步", "①") is recognised by ingest.steps, shared with the answer module.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass

from ingest.clean import detect_language, is_wide, split_to_fit, weighted_length
from ingest.steps import has_explicit_step_word, is_step, parse_step_number
from kb.types import Block, BlockKind, Category, Chunk, ChunkKind, DocumentInfo, ParsedDocument

__all__ = ["chunk_document", "infer_category", "render_table"]

_NOTE = re.compile(
    r"^(?:notes?|warning|caution|important|tip|reminder|attention|n\.?b\.?)\b"
    r"|^(?:注意|提示|警告|重要|备注|说明|温馨提示|注)\s*[:：]?",
    re.IGNORECASE,
)
# Bullets and letter/roman sub-item labels ("a.", "(b)", "iv)"): such items get no extra "- ".
_BULLET = re.compile(r"^(?:[-*•·▪◦●○■□➢►–—]|[(（]?(?:[a-zA-Z]|[ivxIVX]{1,4})[.)）])\s*")
_CAPTION = re.compile(r"^(?:table|tab\.|exhibit|schedule)\s*\S*|^(?:表|附表)\s*\S*", re.IGNORECASE)
_CAPTION_MAX_WEIGHT = 200

# --- sections --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Section:
    path: tuple[str, ...]
    blocks: tuple[Block, ...]  # non-empty TEXT, LIST_ITEM and TABLE blocks, in order


def _has_content(block: Block) -> bool:
    if block.kind == BlockKind.TABLE:
        return bool(block.text.strip()) or any(cell.strip() for row in block.rows for cell in row)
    return bool(block.text.strip())


def _sections(parsed: ParsedDocument, fallback_title: str) -> list[_Section]:
    """Group blocks under the heading stack in force where they appear.

    A heading of level L closes every open heading of level >= L, so a level-2 heading after a
    level-3 one becomes the sibling of its parent. Blocks before the first heading (or in a
    document with no heading at all) get the document title as their path.
    """
    sections: list[_Section] = []
    stack: list[tuple[int, str]] = []
    body: list[Block] = []

    def close() -> None:
        if body:
            path = tuple(title for _, title in stack)
            if not path and fallback_title:
                path = (fallback_title,)
            sections.append(_Section(path, tuple(body)))
            body.clear()

    for block in parsed.blocks:
        if block.kind == BlockKind.TITLE:
            title = " ".join(block.text.split())
            if not title:
                continue
            close()
            while stack and stack[-1][0] >= block.level:
                stack.pop()
            stack.append((block.level, title))
        elif _has_content(block):
            body.append(block)
    close()
    return sections


# --- procedures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Procedure:
    start: int  # first block, intro included
    end: int  # one past the last block
    steps: tuple[int, ...]  # indices of the top-level steps
    top_level: int


def _is_caption(block: Block) -> bool:
    return (
        block.kind == BlockKind.TEXT
        and weighted_length(block.text.strip()) <= _CAPTION_MAX_WEIGHT
        and _CAPTION.match(block.text.strip()) is not None
    )


def _caption_indices(blocks: tuple[Block, ...]) -> dict[int, int]:
    """Map table index -> index of the short "Table 3: ..." paragraph just before it."""
    return {
        i: i - 1
        for i, block in enumerate(blocks)
        if block.kind == BlockKind.TABLE and i > 0 and _is_caption(blocks[i - 1])
    }


def _starting_number(block: Block) -> int | None:
    """Step number of a block that may open a procedure.

    Any numbered list item may; a paragraph only with an explicit "Step 1" / "第1步".
    """
    if block.kind == BlockKind.LIST_ITEM:
        return parse_step_number(block.text)[0]
    if block.kind == BlockKind.TEXT and has_explicit_step_word(block.text):
        return parse_step_number(block.text)[0]
    return None


def _find_procedures(
    blocks: tuple[Block, ...], skip: set[int], intro_budget: int
) -> list[_Procedure]:
    """Find numbered procedures in one section's blocks.

    A procedure opens at a numbered step followed by the next number (1 then 2; a lone "1." is
    not a procedure). It runs while top-level numbers keep rising; anything between two steps
    (notes, sub-steps, bullets, paragraphs) belongs to it, and after the last step only sub-items
    and "Note:"/"注意：" paragraphs do. A numbered paragraph continues a run only with the next
    number. A number that does not rise (a new "1.") ends the run, so two procedures in one
    section stay two. The intro is the paragraph(s) just before the first step: nearest first,
    while they fit in `intro_budget`, at most two, and always the nearest if it ends with ":".
    """
    procedures: list[_Procedure] = []
    floor = 0
    i = 0
    while i < len(blocks):
        first_number = None if i in skip else _starting_number(blocks[i])
        if first_number is None:
            i += 1
            continue
        top = blocks[i].level if blocks[i].kind == BlockKind.LIST_ITEM else 1
        steps = [i]
        last = first_number
        for j in range(i + 1, len(blocks)):
            block = blocks[j]
            if j in skip or block.kind == BlockKind.TABLE:
                continue
            if block.kind == BlockKind.LIST_ITEM and block.level < top:
                break
            number = parse_step_number(block.text)[0]
            if number is None:
                continue
            if block.kind == BlockKind.LIST_ITEM and block.level == top:
                if number <= last:
                    break
                steps.append(j)
                last = number
            elif block.kind == BlockKind.TEXT and top == 1 and number == last + 1:
                steps.append(j)
                last = number
        second = parse_step_number(blocks[steps[1]].text)[0] if len(steps) > 1 else None
        if second != first_number + 1:
            i += 1
            continue
        end = steps[-1] + 1
        while end < len(blocks):
            block = blocks[end]
            trailing_item = block.kind == BlockKind.LIST_ITEM and block.level > top
            trailing_note = block.kind == BlockKind.TEXT and _NOTE.match(block.text.strip())
            if end in skip or not (trailing_item or trailing_note):
                break
            end += 1
        start = _intro_start(blocks, i, floor, skip, intro_budget)
        procedures.append(_Procedure(start, end, tuple(steps), top))
        floor = i = end
    return procedures


def _intro_start(
    blocks: tuple[Block, ...], first_step: int, floor: int, skip: set[int], budget: int
) -> int:
    start = first_step
    total = 0
    while start - 1 >= floor and first_step - start < 2:
        block = blocks[start - 1]
        if block.kind != BlockKind.TEXT or (start - 1) in skip:
            break
        text = block.text.strip()
        weight = weighted_length(text)
        colon_intro = start == first_step and text.endswith((":", "："))
        if not colon_intro and total + weight > budget:
            break
        total += weight
        start -= 1
    return start


# --- rendering -------------------------------------------------------------------------------


def _heading_line(path: tuple[str, ...]) -> str:
    return " > ".join(path)


def _continued(heading: str) -> str:
    if not heading:
        return heading
    return f"{heading}（续）" if is_wide(heading[-1]) else f"{heading} (continued)"


def _render_line(block: Block, base_level: int = 1) -> str:
    """One block as text lines: list items keep their number (or get "- "), indented by depth."""
    text = block.text.strip()
    if block.kind != BlockKind.LIST_ITEM:
        return text
    if not is_step(text) and not _BULLET.match(text):
        text = f"- {text}"
    return "   " * max(0, block.level - base_level) + text


def _escape_cell(cell: str) -> str:
    return " ".join(cell.split()).replace("|", "\\|")


def render_table(rows: tuple[tuple[str, ...], ...]) -> str:
    """Rows as a Markdown pipe table, header row first; short rows are padded with empty cells."""
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    if width == 0:
        return ""

    def line(row: tuple[str, ...]) -> str:
        cells = [_escape_cell(cell) for cell in row] + [""] * (width - len(row))
        return "| " + " | ".join(cells) + " |"

    header, *body = rows
    return "\n".join([line(header), "|" + " --- |" * width, *(line(row) for row in body)])


@dataclass(frozen=True)
class _Draft:
    kind: ChunkKind
    path: tuple[str, ...]
    heading: str  # first line of the chunk text
    body: str
    pages: tuple[int, ...]
    table_rows: tuple[tuple[str, ...], ...] = ()


def _pages(blocks: list[Block] | tuple[Block, ...]) -> tuple[int, ...]:
    return tuple(sorted({block.page for block in blocks if block.page is not None}))


# --- chunking one section --------------------------------------------------------------------


def _table_draft(
    path: tuple[str, ...], heading: str, table: Block, caption: Block | None
) -> _Draft:
    has_cells = any(cell.strip() for row in table.rows for cell in row)
    rendered = render_table(table.rows) if has_cells else table.text.strip()
    parts = [caption.text.strip()] if caption else []
    parts.append(rendered)
    blocks = [table] if caption is None else [caption, table]
    return _Draft(
        ChunkKind.TABLE, path, heading, "\n".join(parts), _pages(blocks), tuple(table.rows)
    )


def _procedure_drafts(
    path: tuple[str, ...],
    heading: str,
    blocks: tuple[Block, ...],
    procedure: _Procedure,
    skip: set[int],
    max_chars: int,
) -> list[_Draft]:
    """The procedure as one chunk, or, past `max_chars`, parts cut only between top-level steps.

    Units are the intro plus first step, then each later step with everything up to the next
    step, so a step is never separated from its sub-steps or notes. A single step longer than the
    limit stays whole: cutting inside a step is worse than an oversized chunk.
    """
    bounds = [*procedure.steps[1:], procedure.end]
    starts = [procedure.start, *procedure.steps[1:]]
    units: list[list[Block]] = []
    for start, end in zip(starts, bounds, strict=True):
        units.append(
            [
                blocks[k]
                for k in range(start, end)
                if k not in skip and blocks[k].kind != BlockKind.TABLE
            ]
        )

    def render(unit_blocks: list[Block]) -> str:
        return "\n".join(_render_line(block, procedure.top_level) for block in unit_blocks)

    whole = [block for unit in units for block in unit]
    if weighted_length(heading) + 1 + weighted_length(render(whole)) <= max_chars:
        return [_Draft(ChunkKind.PROCEDURE, path, heading, render(whole), _pages(whole))]

    parts: list[list[Block]] = []
    current: list[Block] = []
    for unit in units:
        part_heading = _continued(heading) if parts else heading
        candidate = current + unit
        if (
            current
            and weighted_length(part_heading) + 1 + weighted_length(render(candidate)) > max_chars
        ):
            parts.append(current)
            current = list(unit)
        else:
            current = candidate
    if current:
        parts.append(current)
    return [
        _Draft(
            ChunkKind.PROCEDURE,
            path,
            _continued(heading) if index else heading,
            render(part),
            _pages(part),
        )
        for index, part in enumerate(parts)
    ]


def _section_drafts(section: _Section, max_chars: int, procedure_max_chars: int) -> list[_Draft]:
    blocks = _expand_numbered_paragraphs(section.blocks)
    path = section.path
    heading = _heading_line(path)
    budget = max(max_chars - weighted_length(heading) - 1, max_chars // 2)
    captions = _caption_indices(blocks)
    skip = set(captions.values())
    procedures = {p.start: p for p in _find_procedures(blocks, skip, max_chars // 2)}

    drafts: list[_Draft] = []
    pending: list[tuple[str, Block]] = []  # text units waiting to be packed
    pending_weight = 0

    def flush() -> None:
        nonlocal pending_weight
        if pending:
            body = "\n".join(text for text, _ in pending)
            pages = _pages([block for _, block in pending])
            drafts.append(_Draft(ChunkKind.TEXT, path, heading, body, pages))
            pending.clear()
            pending_weight = 0

    def add(text: str, block: Block) -> None:
        nonlocal pending_weight
        weight = weighted_length(text)
        if pending and pending_weight + 1 + weight > budget:
            flush()
        pending.append((text, block))
        pending_weight += weight + (1 if len(pending) > 1 else 0)

    def table(index: int) -> _Draft:
        caption = blocks[captions[index]] if index in captions else None
        return _table_draft(path, heading, blocks[index], caption)

    i = 0
    while i < len(blocks):
        block = blocks[i]
        if i in procedures:
            flush()
            procedure = procedures[i]
            drafts.extend(
                _procedure_drafts(path, heading, blocks, procedure, skip, procedure_max_chars)
            )
            # Tables inside a procedure become their own chunks, right after it.
            drafts.extend(
                table(k)
                for k in range(procedure.start, procedure.end)
                if blocks[k].kind == BlockKind.TABLE
            )
            i = procedure.end
            continue
        if block.kind == BlockKind.TABLE:
            flush()
            drafts.append(table(i))
        elif i not in skip:
            line = _render_line(block)
            for piece in [line] if weighted_length(line) <= budget else split_to_fit(line, budget):
                add(piece, block)
        i += 1
    flush()
    return drafts


def _expand_numbered_paragraphs(blocks: tuple[Block, ...]) -> tuple[Block, ...]:
    """Split a paragraph that holds a whole numbered list ("1. ...\\n2. ...") into list items.

    Plain-text and PDF parsers often deliver a procedure as one block of lines; as list items its
    steps can be recognised and kept together like any other procedure. Only done when two
    consecutive lines carry consecutive numbers, so a paragraph that merely mentions "1." stays.
    """
    out: list[Block] = []
    for block in blocks:
        lines = [line.strip() for line in block.text.split("\n") if line.strip()]
        numbers = [parse_step_number(line)[0] for line in lines]
        consecutive = any(a is not None and b == a + 1 for a, b in itertools.pairwise(numbers))
        if block.kind != BlockKind.TEXT or not consecutive:
            out.append(block)
            continue
        for line, number in zip(lines, numbers, strict=True):
            kind = BlockKind.LIST_ITEM if number is not None else BlockKind.TEXT
            out.append(Block(kind=kind, text=line, page=block.page, level=1))
    return tuple(out)


# --- public entry points ---------------------------------------------------------------------


def chunk_document(
    parsed: ParsedDocument,
    info: DocumentInfo,
    *,
    max_chars: int = 900,
    procedure_max_chars: int = 2400,
) -> list[Chunk]:
    """Cut a parsed document into chunks that each make sense on their own.

    Sizes are weighted lengths (CJK characters count 2) of the whole chunk text, heading
    included. Text passages stay within `max_chars` (one paragraph is split with split_to_fit
    when needed), procedures within `procedure_max_chars` unless a single step is longer, and
    tables are never split. The same input always gives the same chunks, ids and hashes.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1. Currently, max_chars is {max_chars}.")
    if procedure_max_chars < 1:
        raise ValueError(
            "procedure_max_chars must be at least 1. "
            f"Currently, procedure_max_chars is {procedure_max_chars}."
        )
    fallback = " ".join((parsed.title or info.title or info.source_name).split())
    drafts = [
        draft
        for section in _sections(parsed, fallback)
        for draft in _section_drafts(section, max_chars, procedure_max_chars)
        if draft.body.strip()
    ]
    chunks = []
    for position, draft in enumerate(drafts):
        text = f"{draft.heading}\n{draft.body}" if draft.heading else draft.body
        chunks.append(
            Chunk(
                chunk_id=f"{info.document_id}:v{info.version}:{position}",
                document=info,
                position=position,
                kind=draft.kind,
                text=text,
                section_path=draft.path,
                pages=draft.pages,
                language=detect_language(draft.body),
                content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
                table_rows=draft.table_rows,
            )
        )
    return chunks


_FAQ_TITLE = re.compile(r"\bfaqs?\b|frequently\s+asked|q\s*&\s*a|常见问题|问答", re.IGNORECASE)
_PROCEDURE_WORDS = re.compile(
    r"\bprocedures?\b|\bprocess(?:es)?\b|\bhow\s+to\b|\bsteps?\b|\binstructions?\b"
    r"|步骤|流程|操作|办理指引",
    re.IGNORECASE,
)
_PRODUCT_TITLE = re.compile(
    r"\b(?:fees?|rates?|charges?|products?|tariffs?|pricing)\b|费用|收费|利率|费率|产品",
    re.IGNORECASE,
)


_POLICY_TITLE = re.compile(
    r"\b(?:polic(?:y|ies)|standards?|guidelines?|guidance|rules?)\b|政策|规定|規定|守则|守則|指引",
    re.IGNORECASE,
)


def infer_category(parsed: ParsedDocument) -> Category:
    """Guess a document's category when the knowledge team did not state one.

    The title speaks first, because it says what the author meant the document to be: an FAQ
    often contains "how to" answers with steps, a fee schedule or a policy often has a
    procedure section. In order: FAQ title; procedure title (procedure, process, how to,
    steps, 步骤, 流程, 操作) with a real numbered procedure; product title (fees, rates,
    charges, products, tariffs, 费用, 收费, 利率, 产品); policy title (policy, standard, 政策,
    规定). Only then the headings: a numbered procedure under a procedure-like heading makes a
    PROCEDURE, tables holding most of the content a PRODUCT_SHEET. Everything else is POLICY.
    """
    title = parsed.title or ""
    if _FAQ_TITLE.search(title):
        return Category.FAQ
    if _PROCEDURE_WORDS.search(title) and _has_procedure(parsed):
        return Category.PROCEDURE
    if _PRODUCT_TITLE.search(title):
        return Category.PRODUCT_SHEET
    if _POLICY_TITLE.search(title):
        return Category.POLICY
    headings = [b.text for b in parsed.blocks if b.kind == BlockKind.TITLE]
    if any(_PROCEDURE_WORDS.search(h) for h in headings) and _has_procedure(parsed):
        return Category.PROCEDURE
    if _mostly_tables(parsed):
        return Category.PRODUCT_SHEET
    return Category.POLICY


def _has_procedure(parsed: ParsedDocument) -> bool:
    for section in _sections(parsed, parsed.title):
        blocks = _expand_numbered_paragraphs(section.blocks)
        if _find_procedures(blocks, set(_caption_indices(blocks).values()), 0):
            return True
    return False


def _mostly_tables(parsed: ParsedDocument) -> bool:
    table_weight = other_weight = 0
    for block in parsed.blocks:
        if block.kind == BlockKind.TABLE:
            cells = [cell for row in block.rows for cell in row] or [block.text]
            table_weight += sum(weighted_length(cell.strip()) for cell in cells)
        elif block.kind != BlockKind.TITLE:
            other_weight += weighted_length(block.text.strip())
    return table_weight > 0 and table_weight >= other_weight

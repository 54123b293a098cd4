"""Plain text as people type it: steps on consecutive lines, underlined titles, typed tables.

unstructured's text partitioner splits paragraphs on blank lines only and knows no tables, so
a procedure typed one step per line would become one element and a column-aligned table a
run of words. These pure functions prepare the text before it is partitioned.
"""

from __future__ import annotations

import re

from ingest.steps import NOTE_LABEL

Rows = tuple[tuple[str, ...], ...]

_UNDERLINE = re.compile(r"^\s*([=\-_~*])\1{2,}\s*$")
_RULE = re.compile(r"^\s*-{3,}(?:\s+-{3,})+\s*$")
_LINE_MARKER = re.compile(r"^\s*(?:\d{1,3}[.)]|[a-z][.)]|[-•*])\s+\S")
_OWN_PARAGRAPH = re.compile(r"^\s*(?:\d+(?:\.\d+)+\.?\s+\S|(?:table|表)\s*\d*\s*[:：])", re.I)


def _cut(line: str, starts: list[int]) -> tuple[str, ...]:
    """Cells of a fixed-width row: each column runs from its rule's start to the next one's."""
    bounds = [*starts[1:], None]
    return tuple(line[start:end].strip() for start, end in zip(starts, bounds, strict=True))


def split_fixed_width_tables(text: str) -> list[str | Rows]:
    """Text pieces and tables, in order. A table is a header line over a rule of dash runs
    (`-----  -----`), then rows until a blank line."""
    lines = text.splitlines()
    out: list[str | Rows] = []
    prose: list[str] = []
    i = 0
    while i < len(lines):
        if i + 1 < len(lines) and lines[i].strip() and _RULE.match(lines[i + 1]):
            starts = [m.start() for m in re.finditer(r"-{3,}", lines[i + 1])]
            rows = [_cut(lines[i], starts)]
            j = i + 2
            while j < len(lines) and lines[j].strip():
                rows.append(_cut(lines[j], starts))
                j += 1
            if prose:
                out.append(prepare_plain_text("\n".join(prose)))
                prose = []
            out.append(tuple(rows))
            i = j
            continue
        prose.append(lines[i])
        i += 1
    if prose:
        out.append(prepare_plain_text("\n".join(prose)))
    return out


def prepare_plain_text(text: str) -> str:
    """Give each step, note, numbered heading and caption its own paragraph; drop underlines."""
    out: list[str] = []
    for line in text.splitlines():
        if _UNDERLINE.match(line):
            continue
        starts_paragraph = _LINE_MARKER.match(line) or NOTE_LABEL.match(line.strip())
        alone = _OWN_PARAGRAPH.match(line)
        if (starts_paragraph or alone) and out and out[-1].strip():
            out.append("")
        out.append(line)
        if alone:
            out.append("")
    return "\n".join(out)

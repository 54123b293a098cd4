"""Tables as rows of cells, whatever format they came from."""

from __future__ import annotations

import re

from lxml import html as lxml_html

Rows = tuple[tuple[str, ...], ...]


def rows_from_html(markup: str) -> Rows:
    """Cells of an HTML table (as unstructured's `text_as_html` gives them), header first."""
    try:
        root = lxml_html.fromstring(markup)
    except Exception:  # lxml raises ParserError/ValueError on fragments it cannot read
        return ()
    rows = []
    for tr in root.iter("tr"):
        cells = tuple(
            re.sub(r"\s+", " ", cell.text_content()).strip()
            for cell in tr
            if cell.tag in ("td", "th")
        )
        if any(cells):
            rows.append(cells)
    return tuple(rows)


def table_text(rows: Rows) -> str:
    """A plain rendering, one row per line, used where a table needs to be read as text."""
    return "\n".join(" | ".join(row) for row in rows)

"""Per-file metadata for a bulk load, from a CSV the knowledge team keeps beside the files.

Columns (header row required, any subset after `file`): file, category, effective_date,
expiry_date, review_by, owner, groups (separated by ';'). Empty cells mean 'infer or find in the document'.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from ingest.sniff import safe_name
from kb.errors import KBError
from kb.types import Category, DocumentOptions


def _cell(row: dict[str, str], key: str) -> str:
    return (row.get(key) or "").strip()


def read_manifest(path: Path) -> dict[str, DocumentOptions]:
    """Options by lower-cased file name; a bad row is an error naming the line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise KBError(f"cannot read manifest {path}: {e}") from e
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or "file" not in reader.fieldnames:
        raise KBError(f"manifest {path} needs a header row with a 'file' column")
    options: dict[str, DocumentOptions] = {}
    for line, row in enumerate(reader, start=2):
        name = safe_name(_cell(row, "file"))
        try:
            category = _cell(row, "category")
            effective = _cell(row, "effective_date")
            expiry = _cell(row, "expiry_date")
            review_by = _cell(row, "review_by")
            groups = tuple(g.strip() for g in _cell(row, "groups").split(";") if g.strip())
            options[name.lower()] = DocumentOptions(
                category=Category(category) if category else None,
                effective_date=dt.date.fromisoformat(effective) if effective else None,
                expiry_date=dt.date.fromisoformat(expiry) if expiry else None,
                groups=groups or None,
                owner=_cell(row, "owner") or None,
                review_by=dt.date.fromisoformat(review_by) if review_by else None,
            )
        except ValueError as e:
            raise KBError(f"manifest {path}, line {line}: {e}") from e
    return options

"""Real customer messages for call drills, from the BANKING77 data set (text,category CSVs).

A trainer browses these messages (by intent category), picks one, and confirms which document
answers it; `suggest_document` offers candidates from the knowledge base's own retrieval so the
trainer confirms rather than searches. Nothing is read until a function is called with the
data set's folder.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kb.training.errors import DataSetError

__all__ = [
    "SPLITS",
    "CustomerMessage",
    "by_category",
    "category_label",
    "load_messages",
    "suggest_document",
]

SPLITS = ("train", "test")


@dataclass(frozen=True)
class CustomerMessage:
    text: str
    category: str  # the data set's intent label, e.g. "lost_or_stolen_card"
    split: str  # "train" or "test"


def load_messages(directory: Path, splits: Sequence[str] = SPLITS) -> list[CustomerMessage]:
    """The messages of `splits` (files `{split}.csv` under `directory`), in file order.

    Raises DataSetError naming the missing file or column, so whoever set the data folder up
    knows what to fix.
    """
    messages: list[CustomerMessage] = []
    for split in splits:
        if split not in SPLITS:
            raise DataSetError(f"split must be one of {SPLITS}. Currently, split is {split!r}.")
        file = directory / f"{split}.csv"
        if not file.is_file():
            raise DataSetError(
                f"No customer-message file at {file}. Point the setting at the banking77 "
                "folder, which holds train.csv and test.csv (columns text,category)."
            )
        with file.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = {"text", "category"} - set(reader.fieldnames or ())
            if missing:
                raise DataSetError(
                    f"{file} lacks the column(s) {', '.join(sorted(missing))}; expected a "
                    "header line “text,category”."
                )
            for row in reader:
                text = " ".join((row.get("text") or "").split())
                if text:
                    messages.append(
                        CustomerMessage(text, (row.get("category") or "").strip(), split)
                    )
    return messages


def by_category(messages: Iterable[CustomerMessage]) -> dict[str, list[CustomerMessage]]:
    """Messages grouped by intent category, categories sorted by name."""
    grouped: dict[str, list[CustomerMessage]] = {}
    for message in messages:
        grouped.setdefault(message.category, []).append(message)
    return dict(sorted(grouped.items()))


def category_label(category: str) -> str:
    """ "lost_or_stolen_card" -> "Lost or stolen card", for menus."""
    words = category.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def suggest_document(
    message: str, search_fn: Callable[[str], list[str]], limit: int = 3
) -> list[str]:
    """Candidate document ids for the trainer to confirm: `search_fn`'s results (document ids,
    best first, as the knowledge base's retrieval returns them), repeats removed, at most
    `limit`. An empty message gives no candidates."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1. Currently, limit is {limit}.")
    if not message.strip():
        return []
    return list(dict.fromkeys(d for d in search_fn(message) if d))[:limit]

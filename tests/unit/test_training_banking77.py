"""Loading BANKING77 customer messages and suggesting documents for a trainer to confirm."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.training.banking77 import (
    by_category,
    category_label,
    load_messages,
    suggest_document,
)
from kb.training.errors import DataSetError

SHIPPED = Path(__file__).resolve().parents[2] / "kb" / "data" / "banking77"


def write(directory: Path, name: str, text: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(text, encoding="utf-8")


def test_load_messages_from_both_splits(tmp_path):
    write(tmp_path, "train.csv", 'text,category\n"I lost my card, help",lost_or_stolen_card\n')
    write(tmp_path, "test.csv", "text,category\nWhere is my card?,card_arrival\n,empty_row\n")
    messages = load_messages(tmp_path)
    assert [(m.text, m.category, m.split) for m in messages] == [
        ("I lost my card, help", "lost_or_stolen_card", "train"),
        ("Where is my card?", "card_arrival", "test"),
    ]
    assert list(by_category(messages)) == ["card_arrival", "lost_or_stolen_card"]
    assert load_messages(tmp_path, splits=["test"])[0].split == "test"


def test_missing_file_or_column_says_what_to_fix(tmp_path):
    with pytest.raises(DataSetError, match=r"train\.csv and test\.csv"):
        load_messages(tmp_path)
    write(tmp_path, "train.csv", "message,label\nhello,greeting\n")
    with pytest.raises(DataSetError, match="lacks the column"):
        load_messages(tmp_path, splits=["train"])
    with pytest.raises(DataSetError, match="split must be one of"):
        load_messages(tmp_path, splits=["dev"])


def test_category_label():
    assert category_label("lost_or_stolen_card") == "Lost or stolen card"


def test_suggest_document_dedupes_and_limits():
    calls = []

    def search(message: str) -> list[str]:
        calls.append(message)
        return ["lost-card", "lost-card", "", "card-faq", "fees", "other"]

    assert suggest_document("I lost my card", search) == ["lost-card", "card-faq", "fees"]
    assert suggest_document("I lost my card", search, limit=1) == ["lost-card"]
    assert suggest_document("   ", search) == []
    assert calls == ["I lost my card", "I lost my card"]
    with pytest.raises(ValueError, match="limit must be at least 1"):
        suggest_document("x", search, limit=0)


def test_the_copy_shipped_with_the_project_loads():
    messages = load_messages(SHIPPED, ("test",))
    assert len(messages) == 3_080
    categories = by_category(messages)
    assert len(categories) == 77
    assert "lost_or_stolen_card" in categories

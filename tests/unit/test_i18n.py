"""Every label a page shows has a Chinese translation, and every core message says the same
thing (same values) in both languages."""

from __future__ import annotations

import ast
import string

import pytest

from kb.messages import TEMPLATES, Message, in_language
from tests.conftest import REPO
from ui.i18n import ZH

PAGES = [REPO / "app.py", *sorted((REPO / "ui").glob("*.py"))]


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def labels_in(path) -> list[str]:  # type: ignore[no-untyped-def]
    """The literal strings a page passes to t(...)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "t"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ]


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_every_label_on_the_page_is_translated(path):
    missing = [label for label in labels_in(path) if label not in ZH]
    assert not missing, f"{path.name}: add Chinese for {missing}"


def test_pages_do_use_the_translation_table():
    assert sum(len(labels_in(p)) for p in PAGES) > 100


def test_translations_keep_the_same_values():
    assert [e for e in ZH if fields(e) != fields(ZH[e])] == []


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
def test_core_messages_have_both_languages_with_the_same_values(kind):
    assert set(TEMPLATES[kind]) == {"en", "zh"}
    assert fields(TEMPLATES[kind]["en"]) == fields(TEMPLATES[kind]["zh"])


def test_a_message_is_its_english_text_and_can_be_said_in_chinese():
    notice = Message("expired", title="Card fees 2024", date="2024-09-30")
    assert (
        notice
        == "“Card fees 2024” also matches but expired on 2024-09-30; it is not used for this answer."
    )
    assert "expired on 2024-09-30" in notice
    assert (
        in_language(notice, "zh")
        == "“Card fees 2024”也相关，但已于 2024-09-30 失效，本答案未采用。"
    )
    assert in_language("plain text", "zh") == "plain text"
    with pytest.raises(ValueError, match="unknown message kind"):
        Message("no-such-kind")

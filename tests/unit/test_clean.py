"""Text normalisation, language detection and splitting (ingest/clean.py)."""

from __future__ import annotations

import re

import jieba
import pytest

from ingest.clean import (
    cjk_ratio,
    clean_document,
    detect_language,
    is_cjk,
    is_wide,
    normalize_text,
    split_sentences,
    split_to_fit,
    unwrap_lines,
    weighted_length,
)
from kb.types import Block, BlockKind, ParsedDocument

LOST_CARD_ZH = "客户致电报告银行卡丢失或被盗时，客服人员必须立即冻结该卡并核实客户身份"
WIRE_ZH_NO_PUNCTUATION = (
    "境外电汇须在每个工作日下午四点前提交否则将于下一个工作日处理并收取相应手续费"
)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


# --- normalize_text --------------------------------------------------------------------------


def test_normalize_keeps_chinese_full_width_punctuation() -> None:
    text = "客户致电，报告银行卡丢失。请问：是否需要补卡？（需要）"
    assert normalize_text(text) == text


def test_normalize_is_nfc_not_nfkc() -> None:
    decomposed = "Cafe\u0301 card"  # e + combining acute
    assert normalize_text(decomposed) == "Café card"
    # NFKC would fold the ligature and the full-width comma; NFC must not.
    assert normalize_text("ﬁnance，") == "ﬁnance，"


def test_normalize_removes_invisible_characters() -> None:
    text = "\ufeffWire\u200b trans\u00adfer limit\u2060 is 50,000"
    assert normalize_text(text) == "Wire transfer limit is 50,000"


def test_normalize_joins_words_hyphenated_across_lines() -> None:
    assert normalize_text("Cash with-\ndrawal fee") == "Cash withdrawal fee"
    assert normalize_text("Cash with- \n  drawal fee") == "Cash withdrawal fee"


def test_normalize_collapses_spaces_and_keeps_single_newlines() -> None:
    text = "  Daily  ATM\tlimit:  \n  RM 5,000  \r\n\n\n\nPer transaction: RM 1,500 "
    assert normalize_text(text) == "Daily ATM limit:\nRM 5,000\n\nPer transaction: RM 1,500"


def test_normalize_drops_spaces_between_cjk_and_folds_full_width_digits() -> None:
    assert normalize_text("请 致电 ９５５８８ 冻结　该卡。") == "请致电 95588 冻结该卡。"


def test_normalize_never_joins_cjk_lines_with_a_space() -> None:
    # Lines stay separate; unwrap_lines joins a wrapped paragraph, CJK with nothing.
    assert normalize_text("客户必须\n核实身份") == "客户必须\n核实身份"
    assert unwrap_lines("客户必须\n核实身份。") == "客户必须核实身份。"
    assert (
        unwrap_lines("The customer must\nverify identity.") == "The customer must verify identity."
    )


def test_unwrap_lines_keeps_list_lines_and_paragraph_breaks() -> None:
    text = (
        "To report a lost card\nfollow these steps:\n1. Verify identity\n2. Block the card"
        "\n\n注意：\n卡片冻结后不能解冻"
    )
    assert unwrap_lines(text) == (
        "To report a lost card follow these steps:\n1. Verify identity\n2. Block the card"
        "\n\n注意：卡片冻结后不能解冻"
    )


def test_clean_document_normalises_blocks_and_drops_empty_ones() -> None:
    parsed = ParsedDocument(
        source_name="fees.html",
        format="html",
        title=" Card\u200b fees ",
        blocks=(
            Block(BlockKind.TEXT, "  Annual  fee  "),
            Block(BlockKind.TEXT, "\u200b \n "),
            Block(BlockKind.TABLE, "", rows=(("Card ", " Fee"), ("Gold", "RM\u00a0150"))),
        ),
        language="en",
    )
    cleaned = clean_document(parsed)
    assert cleaned.title == "Card fees"
    assert [b.text for b in cleaned.blocks] == ["Annual fee", ""]
    assert cleaned.blocks[1].rows == (("Card", "Fee"), ("Gold", "RM 150"))


# --- language --------------------------------------------------------------------------------


def test_is_cjk_and_is_wide() -> None:
    assert is_cjk("卡") and not is_cjk("，") and not is_cjk("a")
    assert is_wide("卡") and is_wide("，") and not is_wide("a")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "en"),
        ("12345 678", "en"),
        ("Report a lost or stolen card immediately.", "en"),
        ("客户报告银行卡丢失时，必须立即冻结该卡。", "zh"),
        ("使用银联卡在境外取现，每笔收取手续费。ATM", "zh"),
        ("Wire transfer 电汇 cut-off 截止时间 is 4pm 下午四点", "mixed"),
        ("Call 95588 to report 挂失.", "en"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_cjk_ratio() -> None:
    assert cjk_ratio("") == 0.0
    assert cjk_ratio("卡卡ab") == 0.5
    assert cjk_ratio("冻结，。") == 1.0


def test_weighted_length_counts_cjk_double() -> None:
    assert weighted_length("card") == 4
    assert weighted_length("银行卡") == 6
    assert weighted_length("银行卡，ok") == 10


# --- split_sentences -------------------------------------------------------------------------


def test_split_sentences_english_keeps_decimals_and_abbreviations() -> None:
    text = "The fee is 2.5% of the amount. Cards, e.g. Visa Gold, are exempt! Is it waived? Yes."
    assert split_sentences(text) == [
        "The fee is 2.5% of the amount.",
        "Cards, e.g. Visa Gold, are exempt!",
        "Is it waived?",
        "Yes.",
    ]


def test_split_sentences_chinese() -> None:
    text = "客户报告卡片丢失。请立即冻结！是否需要补卡？需要；补卡费为15元。"
    assert split_sentences(text) == [
        "客户报告卡片丢失。",
        "请立即冻结！",
        "是否需要补卡？",
        "需要；",
        "补卡费为15元。",
    ]


def test_split_sentences_loses_no_characters() -> None:
    text = "  Wire transfers over 50,000 need approval.  境外电汇需要审批。\nCall ext. 2.\n"
    pieces = split_sentences(text)
    assert len(pieces) == 3
    assert _squash("".join(pieces)) == _squash(text)
    assert all(p == p.strip() and p for p in pieces)


# --- split_to_fit ----------------------------------------------------------------------------


def _cut_offsets(text: str, pieces: list[str]) -> list[int]:
    """Where each piece boundary falls in `text` (start and end of every piece)."""
    offsets = []
    position = 0
    for piece in pieces:
        start = text.index(piece, position)
        position = start + len(piece)
        offsets += [start, position]
    return offsets


def _allowed_cuts(text: str) -> set[int]:
    """jieba word boundaries of the whole text, plus positions next to space/punctuation."""
    allowed = {0, len(text)}
    offset = 0
    for token in jieba.lcut(text):
        offset += len(token)
        allowed.add(offset)
    for i, ch in enumerate(text):
        if ch.isspace() or not ch.isalnum():
            allowed |= {i, i + 1}
    return allowed


@pytest.mark.parametrize("max_chars", [8, 10, 14, 20, 30])
@pytest.mark.parametrize("text", [LOST_CARD_ZH, WIRE_ZH_NO_PUNCTUATION], ids=["lost", "wire"])
def test_split_to_fit_never_cuts_inside_a_chinese_word(text: str, max_chars: int) -> None:
    pieces = split_to_fit(text, max_chars)
    assert "".join(pieces) == text
    assert all(weighted_length(p) <= max_chars for p in pieces)
    offsets = _cut_offsets(text, pieces)
    bad = [o for o in offsets if o not in _allowed_cuts(text)]
    assert bad == [], f"cuts inside a word at {bad}: {pieces}"
    # the words that must survive intact
    for word in ("银行卡", "客服", "人员", "冻结", "身份") if text == LOST_CARD_ZH else ("境外",):
        assert any(word in p for p in pieces)


def test_split_to_fit_prefers_the_chinese_comma() -> None:
    assert split_to_fit(LOST_CARD_ZH, 40) == [
        "客户致电报告银行卡丢失或被盗时，",
        "客服人员必须立即冻结该卡并核实客户身份",
    ]


def test_split_to_fit_prefers_sentences_then_clauses_then_spaces() -> None:
    text = (
        "Wire transfers received after 4 p.m. are processed the next working day. "
        "Fees apply, and the customer must be told before the transfer is sent."
    )
    assert split_to_fit(text, 80) == [
        "Wire transfers received after 4 p.m. are processed the next working day.",
        "Fees apply, and the customer must be told before the transfer is sent.",
    ]
    pieces = split_to_fit(text, 40)
    assert pieces[2] == "Fees apply,"
    assert all(weighted_length(p) <= 40 for p in pieces)
    assert _squash("".join(pieces)) == _squash(text)


def test_split_to_fit_short_text_is_one_piece_and_blank_is_none() -> None:
    assert split_to_fit("  Block the card.  ", 100) == ["Block the card."]
    assert split_to_fit(" \n ", 100) == []
    with pytest.raises(ValueError, match="max_chars is 0"):
        split_to_fit("text", 0)


def test_split_to_fit_cuts_a_long_reference_only_as_last_resort() -> None:
    pieces = split_to_fit("Ref ABCDEFGHIJKLMNOPQRSTUVWX", 10)
    assert pieces == ["Ref", "ABCDEFGHIJ", "KLMNOPQRST", "UVWX"]

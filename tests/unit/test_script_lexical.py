"""Script-insensitive lexical search: Traditional and Simplified Chinese share search tokens,
the glossary finds its entries from either script, and knowledge bases indexed by an earlier
tokenizer re-tokenise once when opened."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from pathlib import Path

import jieba

from kb.glossary import default_glossary
from kb.lexical import (
    TOKENIZER_VERSION,
    LexicalIndex,
    ensure_current_terms,
    stored_tokenizer_version,
    tokenize,
)
from kb.registry import Registry
from kb.script import align, original_spans, to_simplified
from kb.types import Category, Chunk, ChunkKind, DocumentInfo


def test_traditional_question_shares_tokens_with_simplified_passage() -> None:
    passage = set(tokenize("客户信用卡遗失后，应立即致电办理挂失，再申请补发新卡。"))
    question = set(tokenize("我的信用卡遺失了，要怎麼辦理掛失？"))
    assert {"信用卡", "遗失", "办理", "挂失"} <= question & passage
    assert not any("遺" in t or "掛" in t for t in question)
    assert "怎么" not in question  # a stop-word once converted


def test_simplified_question_shares_tokens_with_traditional_passage() -> None:
    passage = set(tokenize("轉帳至約定帳戶，每日額度為新臺幣三百萬元；匯款手續費另計。"))
    question = set(tokenize("转账到约定账户的每日额度是多少？汇款要手续费吗"))
    assert {"转账", "约定", "账户", "额度", "汇款", "手续费"} <= question & passage


def test_taiwan_phrases_and_hong_kong_variants_are_converted() -> None:
    assert to_simplified("網路銀行登入") == "网络银行登录"
    assert to_simplified("簽帳金融卡") == "借记卡"
    assert to_simplified("衞生") == "卫生"
    # Banking 帐 becomes 账 as mainland text writes it; tents keep 帐.
    assert to_simplified("帳戶 對帳單 帳篷 蚊帳") == "账户 对账单 帐篷 蚊帐"


def test_simplified_and_english_text_pass_unchanged() -> None:
    for text in (
        "客户致电报告银行卡丢失，坐席应先核实身份。",
        "跨境汇款的每日限额是多少？",
        "Block the card, then order a replacement.",
    ):
        assert to_simplified(text) == text


def test_english_tokenisation_is_unchanged() -> None:
    assert tokenize("The customers reported STOLEN cards") == ["report", "stolen", "card"]
    assert tokenize("Online banking: I've forgotten my passwords!") == [
        "online",
        "bank",
        "forgotten",
        "password",
    ]


def test_glossary_finds_simplified_entry_from_traditional_question() -> None:
    glossary = default_glossary()
    # The Simplified column says 账户冻结; the question is Traditional.
    english = glossary.expand("我的帳戶凍結了怎麼辦？", into="en")
    assert "frozen" in english and "block" in english
    assert "arrang" in glossary.expand("約定透支的利率是多少？", into="en")


def test_taiwan_wording_reaches_mainland_and_english_terms() -> None:
    glossary = default_glossary()
    online = glossary.expand("網路銀行密碼忘記了", into="en")
    assert "online" in online and "internet" in online
    assert {"网上", "网上银行"} & set(glossary.expand("網路銀行密碼忘記了", into="zh"))
    assert "passbook" in glossary.expand("存摺遺失要怎麼補發", into="en")
    assert "debit" in glossary.expand("金融卡被吞了", into="en")
    assert "designat" in " ".join(glossary.expand("約定帳戶的轉帳額度", into="en"))


def test_english_term_expands_to_chinese_that_matches_both_scripts() -> None:
    chinese = set(default_glossary().expand("What is the fee for a remittance?", into="zh"))
    assert chinese & set(tokenize("國外匯款手續費"))
    assert chinese & set(tokenize("国外汇款手续费"))
    assert all(t == to_simplified(t) for t in chinese)


def test_glossary_equivalents_are_keyed_by_simplified_tokens() -> None:
    equivalents = default_glossary().equivalents("我想辦理掛失")
    assert "report" in equivalents["挂失"]


def test_align_maps_simplified_tokens_back_to_the_text_as_written() -> None:
    text = "請檢查記憶體，再登入網路銀行帳戶 (online)"
    aligned = align(text)
    assert aligned.simplified == "请检查内存，再登录网络银行账户 (online)"
    ((start, end),) = aligned.find_all("内存")
    assert text[start:end] == "記憶體"  # a phrase whose length changed
    assert [text[s:e] for s, e in original_spans(text, tokenize("账户 登录"))] == ["登入", "帳戶"]
    assert [text[s:e] for s, e in aligned.find_all("online")] == ["online"]
    plain = "客户账户"
    assert align(plain).find_all("账户") == [(2, 4)]


def _registry_with_traditional_chunk(path: Path) -> Registry:
    registry = Registry(path)
    info = DocumentInfo(
        document_id="tw-faq",
        version=1,
        title="轉帳常見問題",
        source_name="tw-faq.md",
        format="md",
        language="zh",
        category=Category.FAQ,
        effective_date=dt.date(2026, 1, 1),
        expiry_date=None,
        groups=("everyone",),
    )
    text = "轉帳常見問題\n請先設定約定帳戶，網路銀行轉帳每日額度為新臺幣三百萬元。"
    chunk = Chunk(
        chunk_id="tw-faq:v1:0",
        document=info,
        position=0,
        kind=ChunkKind.TEXT,
        text=text,
        section_path=("轉帳常見問題",),
        pages=(),
        language="zh",
        content_hash="h",
    )
    with registry.transaction():
        registry.upsert_document(info, "tw-faq.md")
        registry.add_version(info, "h", [chunk], None, len(text.encode()), None)
        # Tokens as the tokenizer before script normalisation made them: jieba on the
        # Traditional text as written.
        old_tokens = " ".join(jieba.lcut_for_search(text))
        registry.add_terms([(chunk.chunk_id, old_tokens)])
        registry.db.execute("DELETE FROM meta WHERE key = 'lexical_tokenizer'")
    return registry


def _search(db: sqlite3.Connection, question: str) -> list[str]:
    return [cid for cid, _ in LexicalIndex(db).search(tokenize(question), 5, "1 = 1", [])]


def test_index_built_by_an_earlier_tokenizer_is_retokenised_once(tmp_path: Path, caplog) -> None:
    path = tmp_path / "registry.sqlite"
    registry = _registry_with_traditional_chunk(path)
    assert stored_tokenizer_version(registry.db) is None
    assert _search(registry.db, "约定账户的转账额度") == []  # stale: 帳戶 never met 账户
    registry.close()

    with caplog.at_level(logging.INFO, logger="kb.lexical"):
        reopened = Registry(path)  # opening is enough
    assert "re-tokenising 1 chunks" in caplog.text
    assert stored_tokenizer_version(reopened.db) == TOKENIZER_VERSION
    assert _search(reopened.db, "约定账户的转账额度") == ["tw-faq:v1:0"]
    assert _search(reopened.db, "約定帳戶的轉帳額度") == ["tw-faq:v1:0"]
    assert reopened.db.execute("SELECT count(*) FROM chunk_terms").fetchone()[0] == 1
    assert ensure_current_terms(reopened.db) == 0  # once only
    reopened.close()


def test_a_new_registry_is_stamped_with_the_current_tokenizer(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry.sqlite")
    assert stored_tokenizer_version(registry.db) == TOKENIZER_VERSION
    registry.db.execute(
        "UPDATE meta SET value = 'an older tokenizer' WHERE key = 'lexical_tokenizer'"
    )
    assert ensure_current_terms(registry.db) == 0  # no chunks: only the stamp changes
    assert stored_tokenizer_version(registry.db) == TOKENIZER_VERSION
    registry.close()

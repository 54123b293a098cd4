"""Pure parts of retrieval and answers: fusion, scope, follow-ups, steps, conflicts, metrics."""

from __future__ import annotations

import datetime as dt

import pytest

from eval.metrics import hit_at, ndcg_at, recall_at, reciprocal_rank, refusal_scores, step_scores
from kb.answer import (
    best_sentences,
    build_answer,
    find_conflicts,
    highlight,
    parse_steps,
)
from kb.conversation import is_follow_up, resolve_question
from kb.glossary import default_glossary
from kb.lexical import tokenize
from kb.retrieve import Scope, document_status, fuse_rankings
from kb.types import (
    AnswerStatus,
    Category,
    Chunk,
    ChunkKind,
    DocumentInfo,
    DocumentStatus,
    Hit,
    Query,
    Turn,
)


def info(
    doc="lost-card", title="Lost Card Procedure", groups=("everyone",), effective=None, expiry=None
):
    return DocumentInfo(
        doc, 2, title, f"{doc}.docx", "docx", "en", Category.PROCEDURE, effective, expiry, groups
    )


def chunk(
    text,
    doc="lost-card",
    position=0,
    kind=ChunkKind.TEXT,
    section=("Card services", "Reporting"),
    **kw,
):
    return Chunk(
        f"{doc}:v2:{position}", info(doc, **kw), position, kind, text, section, (1,), "en", "h"
    )


PROCEDURE = (
    "Card services > Reporting\n"
    "When a customer reports a lost card, block it first:\n"
    "1. Verify the caller's identity.\n"
    "   a. Ask two security questions.\n"
    "2. Block the card with reason code LS01.\n"
    "Note: A blocked card cannot be unblocked.\n"
    "Warning: Never ask for the full PIN.\n"
    "3. Order a replacement card."
)


def test_fusion_rewards_agreement_and_respects_weights():
    fused = fuse_rankings([["a", "b", "c"], ["b", "d"]], [1.0, 1.0], k=60)
    assert [item for item, _ in fused] == ["b", "a", "d", "c"]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)
    lexical_only = fuse_rankings([["a"], ["d"]], [0.0, 1.0], k=60)
    assert lexical_only[0][0] == "d"
    with pytest.raises(ValueError, match="2 rankings but 1 weights"):
        fuse_rankings([["a"], ["b"]], [1.0])


def test_scope_groups_category_and_inclusive_dates():
    today = dt.date(2026, 11, 25)
    scope = Scope.of(Query("x", groups=("fraud-team",), as_of=today))
    assert scope.allows(info(groups=("fraud-team",))) and scope.allows(info())
    assert not Scope.of(Query("x", as_of=today)).allows(info(groups=("fraud-team",)))
    assert not Scope.of(Query("x", category=Category.FAQ, as_of=today)).allows(info())
    assert document_status(info(expiry=today), today) == DocumentStatus.CURRENT
    assert document_status(info(expiry=dt.date(2026, 11, 24)), today) == DocumentStatus.EXPIRED
    assert (
        document_status(info(effective=dt.date(2027, 1, 1)), today)
        == DocumentStatus.NOT_YET_EFFECTIVE
    )
    inclusive = Scope.of(Query("x", as_of=today, include_inactive=True))
    assert inclusive.allows(info(expiry=dt.date(2024, 9, 30)))
    condition, params = scope.sql()
    assert "json_each" in condition and params[:2] == ["everyone", "fraud-team"]


def test_follow_ups_are_completed_from_the_last_question():
    history = (
        Turn("user", "What documents do I need to open a personal current account?"),
        Turn("assistant", "..."),
    )
    assert is_follow_up("and for a business account?")
    assert not is_follow_up("What is the fee for an express replacement card?")
    resolved = resolve_question("and for a business account?", history)
    assert (
        resolved
        == "What documents do I need to open a current account? and for a business account?"
    )
    assert (
        resolve_question("那信用卡呢？", (Turn("user", "借记卡丢了怎么挂失？"),))
        == "丢了怎么挂失？ 那信用卡呢？"
    )
    assert (
        resolve_question("How much is an express card?", history) == "How much is an express card?"
    )
    assert resolve_question("and for a business account?", ()) == "and for a business account?"


def test_tokens_for_english_and_chinese():
    assert tokenize("The customers reported STOLEN cards") == ["report", "stolen", "card"]
    assert tokenize("business status") == ["business", "status"]
    tokens = tokenize("客户致电报告银行卡丢失")
    assert "银行卡" in tokens and "丢失" in tokens and "的" not in tokens
    assert "overdraft" in default_glossary().expand("安排透支的利率是多少？")
    assert "透支" in default_glossary().expand("How is overdraft interest charged?")


def test_steps_keep_order_sub_steps_notes_and_citation():
    part = chunk(PROCEDURE, kind=ChunkKind.PROCEDURE)
    steps = parse_steps([part], {("lost-card", 2): "abc.docx"})
    assert [(s.number, s.level, s.kind) for s in steps] == [
        ("1", 1, "step"),
        ("a", 2, "step"),
        ("2", 1, "step"),
        (None, 1, "note"),
        (None, 1, "warning"),
        ("3", 1, "step"),
    ]
    assert steps[0].text == "Verify the caller's identity."
    assert steps[1].text == "Ask two security questions."
    assert all(
        s.citation.chunk_id == "lost-card:v2:0" and s.citation.original == "abc.docx" for s in steps
    )


def test_steps_of_a_split_procedure_come_from_all_parts_in_order():
    first = chunk("Card services > Reporting\n1. Verify.\n2. Block.", kind=ChunkKind.PROCEDURE)
    second = chunk(
        "Card services > Reporting (continued)\n3. Replace.\n4. Close the call.",
        position=1,
        kind=ChunkKind.PROCEDURE,
    )
    steps = parse_steps([first, second], {})
    assert [s.number for s in steps] == ["1", "2", "3", "4"]
    assert steps[2].citation.chunk_id == "lost-card:v2:1"


def test_highlights_cover_stems_and_chinese_words():
    marked = highlight("Block the stolen cards now", tokenize("stolen card"))
    assert [marked.text[a:b] for a, b in marked.highlights] == ["stolen", "cards"]
    chinese = highlight("客户致电报告银行卡丢失", tokenize("银行卡丢了"))
    assert "银行卡" in [chinese.text[a:b] for a, b in chinese.highlights]


def test_best_sentences_are_verbatim_and_from_the_top_passages():
    hits = [
        Hit(
            chunk("Card services > Fees\nExpress delivery costs £15. Standard delivery is free."),
            0.03,
        ),
        Hit(chunk("Other\nUnrelated text about mortgages.", doc="mortgage", position=3), 0.02),
    ]
    sentences = best_sentences(hits, tokenize("how much is express delivery"))
    assert sentences[0][0] == "Express delivery costs £15."


def test_conflicting_amounts_from_two_current_documents_are_flagged():
    a = chunk(
        "Limits\nThe daily online transfer limit for personal accounts is £25,000.",
        doc="guide",
        title="Guide",
    )
    b = chunk(
        "Limits\nPersonal accounts: daily online transfer limit £20,000.",
        doc="policy",
        title="Policy",
    )
    notices = find_conflicts(
        [Hit(a, 0.03), Hit(b, 0.02)], tokenize("daily online transfer limit personal")
    )
    assert len(notices) == 1 and "£25,000" in notices[0] and "£20,000" in notices[0]
    same = chunk(
        "Limits\nThe daily online transfer limit for personal accounts is £25,000.", doc="faq"
    )
    assert (
        find_conflicts(
            [Hit(a, 0.03), Hit(same, 0.02)], tokenize("daily online transfer limit personal")
        )
        == []
    )


def test_answer_refuses_below_threshold_and_warns_when_unsure():
    hits = [Hit(chunk(PROCEDURE, kind=ChunkKind.PROCEDURE), 0.03)]
    refused = build_answer("bake bread?", "bake bread?", hits, confidence_value=0.1, threshold=0.3)
    assert refused.status == AnswerStatus.NOT_COVERED
    assert refused.steps == () and refused.sentences == () and refused.advice
    assert [c.document_id for c in refused.related] == ["lost-card"]
    unsure = build_answer(
        "lost card?", "lost card?", hits, confidence_value=0.5, threshold=0.3, confident_from=0.7
    )
    assert unsure.status == AnswerStatus.ANSWERED and unsure.notices[0].startswith("Low confidence")
    sure = build_answer(
        "how do I report a lost card",
        "how do I report a lost card",
        hits,
        confidence_value=0.9,
        threshold=0.3,
        confident_from=0.7,
    )
    assert [s.number for s in sure.steps if s.number] == ["1", "a", "2", "3"] and not sure.notices


def test_metrics():
    ranked = ["b", "a", "c"]
    assert hit_at(ranked, {"a"}, 1) == 0.0 and hit_at(ranked, {"a"}, 2) == 1.0
    assert recall_at(ranked, {"a", "z"}, 3) == 0.5
    assert reciprocal_rank(ranked, {"a"}) == 0.5
    assert ndcg_at(["a"], {"a"}) == 1.0 and ndcg_at(["x", "a"], {"a"}) == pytest.approx(
        1 / 1.5849625
    )
    assert refusal_scores([True, False, True], [True, False, False]) == {
        "precision": 0.5,
        "recall": 1.0,
        "accuracy": 2 / 3,
    }
    assert step_scores(
        ["Verify the caller", "Block the card"], ["Block the card", "Verify the caller"]
    ) == (1.0, 0.0)


def test_a_purpose_section_gives_its_place_to_the_same_documents_answer():
    from kb.answer import is_purpose_section, purpose_last

    purpose = chunk(
        "ATM problems > Purpose\nThis guide tells agents what to do when a customer's card "
        "has been kept by a cash machine.",
        doc="atm",
        position=1,
        section=("ATM problems", "Purpose"),
    )
    steps = chunk(
        "ATM problems > Card retained\nCancel the card in CardView. Offer Cash by Code, up to "
        "£200, when the customer needs money today.",
        doc="atm",
        position=4,
        section=("ATM problems", "Card retained"),
    )
    other = chunk("Fees > Cards\nA replacement card is free.", doc="fees", position=2)
    scope_zh = chunk(
        "二、适用范围\n本指引适用于个人往来账户。", doc="zh", section=("二、适用范围",)
    )
    opening = chunk("It covers scams.\nThis procedure explains what agents must do.", doc="x")
    assert is_purpose_section(purpose) and is_purpose_section(scope_zh)
    assert not is_purpose_section(steps) and not is_purpose_section(other)
    assert not is_purpose_section(chunk("The notice lasts up to 90 days.", doc="n"))
    assert is_purpose_section(opening)
    hits = [Hit(purpose, 0.03), Hit(other, 0.029), Hit(steps, 0.028)]
    reordered = purpose_last(hits)
    # the documents keep their places; within "atm" the answering section comes first
    assert [h.chunk.chunk_id for h in reordered] == ["atm:v2:4", "fees:v2:2", "atm:v2:1"]
    only_purpose = [Hit(purpose, 0.03), Hit(other, 0.02)]
    assert purpose_last(only_purpose) == only_purpose
    tokens = tokenize("cash machine kept my card and I need money today")
    headline = [s for s, _ in best_sentences(purpose_last(hits), tokens)]
    assert headline and "Cash by Code" in " ".join(headline)
    assert not any(s.startswith("This guide") for s in headline)


def test_a_statement_about_the_document_is_no_headline_when_another_sentence_answers():
    text = (
        "Fraud and scams > Purpose\nThis procedure explains what agents must do when a "
        "customer is being scammed during a payment. Pause the payment when the customer "
        "is being scammed."
    )
    sentences = best_sentences(
        [Hit(chunk(text), 0.03)], tokenize("customer being scammed during a payment")
    )
    assert next(s for s, _ in sentences).startswith("Pause the payment")


def test_the_chinese_document_control_line_is_never_quoted():
    text = "文件负责部门：支付运营部｜版本：3.0 ｜生效日期：2025年4月1日\n个人客户每日转账上限为£25,000。"
    sentences = best_sentences([Hit(chunk(text), 0.03)], tokenize("个人客户 转账 版本 上限"))
    assert all("版本" not in s for s, _ in sentences)

"""Asking the sample bank's knowledge base with the real model: what an agent would see."""

from __future__ import annotations

import datetime as dt

import pytest

from kb.langchain_retriever import KnowledgeBaseRetriever
from kb.types import AnswerStatus, Query, Turn

pytestmark = pytest.mark.integration
TODAY = dt.date(2026, 11, 25)
RESTRICTED = {"fraud-investigations-playbook", "complaints-executive-office-procedure"}


def ask(services, text, **kw):
    kw.setdefault("as_of", TODAY)
    return services.ask(Query(text, **kw))


def top_documents(services, text, k=5, **kw):
    kw.setdefault("as_of", TODAY)
    hits = services.retrieve(Query(text, k=k, **kw))
    return list(dict.fromkeys(h.chunk.document.document_id for h in hits))


def test_english_procedure_as_numbered_steps_with_sources(sample_services):
    answer = ask(sample_services, "customer lost their debit card abroad")
    assert answer.status == AnswerStatus.ANSWERED
    assert answer.passages[0].citation.document_id in {
        "lost-stolen-card-procedure",
        "foreign-currency-travel",
    }
    numbers = [s.number for s in answer.steps if s.level == 1 and s.number]
    assert numbers[:3] == ["1", "2", "3"]
    for step in answer.steps:  # every step is really in the passage it cites
        cited = sample_services.kb.registry.chunks_by_id([step.citation.chunk_id])[
            step.citation.chunk_id
        ]
        assert step.text in cited.text
    assert answer.sentences and all(c.title and c.section for _, c in answer.sentences)


def test_chinese_question_finds_the_chinese_procedure(sample_services):
    answer = ask(sample_services, "客户来电挂失银行卡，坐席应按什么步骤操作？")
    assert answer.status == AnswerStatus.ANSWERED
    assert answer.passages[0].citation.document_id == "zh-lost-card-procedure"
    assert [s.text[:6] for s in answer.steps if s.level == 1][:2] == [
        "核实客户身份",
        "确认挂失卡片",
    ]


def test_cross_lingual_both_ways(sample_services):
    # A Chinese question answered by an English procedure, and English questions answered by
    # Chinese-only facts (Chinese -> English is the weaker direction: see eval/reports).
    swallowed = "我在伦敦街上的ATM取钱，机器把我的卡吞了，卡还能还给我吗？"
    assert "atm-card-retained-cash-not-dispensed" in top_documents(sample_services, swallowed, k=10)
    interpreter = (
        "Can we arrange an interpreter for a customer who only speaks Mandarin or Cantonese?"
    )
    assert "zh-vulnerable-customers" in top_documents(sample_services, interpreter, k=10)
    rmb = "What extra details are needed when a customer sends an RMB payment to mainland China?"
    assert "zh-cross-border-transfer-limits" in top_documents(sample_services, rmb, k=10)
    # An English question still gets an English answer first when English documents cover it.
    answer = ask(sample_services, "customer lost their debit card abroad")
    assert not answer.passages[0].citation.document_id.startswith("zh-")


def test_follow_up_uses_the_conversation(sample_services):
    history = (Turn("user", "What documents do I need to open a personal current account?"),)
    answer = ask(sample_services, "and for a business account?", history=history)
    assert answer.resolved_question.endswith("and for a business account?")
    shown = [p.citation.document_id for p in answer.passages[:3]]
    assert "business-account-opening" in shown
    alone = [
        p.citation.document_id
        for p in ask(sample_services, "and for a business account?").passages[:3]
    ]
    assert "account-opening-kyc" not in alone  # the history, not the words alone, brings it in


@pytest.mark.parametrize(
    "question",
    ["how do I bake bread", "怎么做红烧肉？", "What's the score in the football tonight?"],
)
def test_out_of_scope_questions_are_refused_with_related_articles(sample_services, question):
    answer = ask(sample_services, question)
    assert answer.status == AnswerStatus.NOT_COVERED
    assert answer.steps == () and answer.sentences == ()
    assert "escalate" in answer.advice


RESTRICTED_PROBES = [
    "Fraud Investigations Team Internal Playbook",
    "fraud investigations playbook reimbursement approval limits",
    "What can a Fraud Analyst approve for reimbursement?",
    "Senior Investigator approval limit £25,000",
    "case priority P1 first action within 15 minutes",
    "mule account restraint code M1",
    "BPS recovery request within 1 hour",
    "Executive Complaints Office procedure",
    "ECO Manager extension 4471",
    "ECO sign-off bands over £10,000 Head of Customer Resolution",
    "How long does the executive office have to reply to an MP?",
    "social media threshold 1,000 shares complaint",
    "complaints executive office procedure internal",
    "欺诈分析员最多可以批准多少金额的诈骗退款？",
    "P1级别的诈骗案件要求在多少分钟内采取第一步行动？",
    "fraud playbook",
    "playbook",
    "executive office",
]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_restricted_documents_never_reach_other_groups(sample_services, mode):
    for probe in RESTRICTED_PROBES:
        hits = sample_services.retrieve(
            Query(probe, k=20, as_of=TODAY, include_inactive=True), mode
        )
        assert not {h.chunk.document.document_id for h in hits} & RESTRICTED, (probe, mode)


def test_restricted_documents_absent_from_answers_but_open_to_their_group(sample_services):
    for probe in RESTRICTED_PROBES:
        answer = ask(sample_services, probe, include_inactive=True)
        shown = {p.citation.document_id for p in answer.passages} | {
            c.document_id for c in answer.related
        }
        assert not shown & RESTRICTED, probe
        assert not any(
            "Playbook" in n or "Executive Complaints Office procedure" in n for n in answer.notices
        )
    member = top_documents(
        sample_services, "fraud playbook reimbursement approval limits", groups=("fraud-team",)
    )
    assert "fraud-investigations-playbook" in member


def test_as_of_date_decides_which_documents_answer(sample_services):
    question = "Is there a fee for using my debit card abroad?"
    now = ask(sample_services, question)
    assert "summer-travel-card-offer-2024" not in {p.citation.document_id for p in now.passages}
    assert any("expired on 2024-09-30" in n for n in now.notices)
    then = top_documents(sample_services, question, as_of=dt.date(2024, 8, 1))
    assert "summer-travel-card-offer-2024" in then
    assert "fee-changes-2027" not in top_documents(
        sample_services, "new CHAPS fee from January 2027", k=10
    )
    assert "fee-changes-2027" in top_documents(
        sample_services, "new CHAPS fee from January 2027", as_of=dt.date(2027, 2, 1)
    )


def test_conflicting_documents_are_flagged(sample_services):
    answer = ask(sample_services, "What is the daily online transfer limit for a personal account?")
    conflict = [n for n in answer.notices if n.startswith("Documents disagree")]
    assert conflict and "£25,000" in conflict[0] and "£20,000" in conflict[0]


def test_langchain_retriever_applies_the_same_filters(sample_services):
    retriever = KnowledgeBaseRetriever(services=sample_services, k=3, as_of=TODAY)
    documents = retriever.invoke("the ATM swallowed my card")
    assert documents[0].metadata["document_id"] == "atm-card-retained-cash-not-dispensed"
    assert documents[0].metadata["section"] and documents[0].metadata["status"] == "current"
    assert not any(
        d.metadata["document_id"] in RESTRICTED
        for d in retriever.invoke("fraud investigations playbook")
    )

"""The answer-level evaluation on the real sample knowledge base: every measure is there,
consistent with the per-question outcomes, for the golden and the agent-style set."""

from __future__ import annotations

import pytest

from eval.golden import load_agent_style, load_golden
from eval.run import (
    confidence_features,
    cross_validate_refusals,
    evaluate_answers,
    evaluate_retrieval,
    is_conflict_notice,
)
from kb.messages import Message

pytestmark = pytest.mark.integration


def _sample(questions, per_type: int = 2):
    """A few questions of every type, so the test stays quick but touches each measure."""
    seen: dict[str, int] = {}
    chosen = []
    for q in questions:
        if seen.get(q.type, 0) < per_type:
            seen[q.type] = seen.get(q.type, 0) + 1
            chosen.append(q)
    return chosen


def test_conflict_notices_are_told_by_kind():
    notice = Message(
        "conflict",
        title_a="A",
        section_a="s",
        amounts_a="£1",
        title_b="B",
        section_b="t",
        amounts_b="£2",
    )
    assert is_conflict_notice(notice)
    assert not is_conflict_notice(Message("low_confidence"))
    assert not is_conflict_notice("Documents disagree: plain text is not a conflict notice")


def test_answer_measures_on_golden_and_agent_style(sample_services):
    golden = _sample(load_golden())
    agent = _sample(load_agent_style())
    assert agent and all(q.extra.get("derived_from") for q in agent)
    for questions in (golden, agent):
        result = evaluate_answers(sample_services, questions)
        metrics = result["answer_metrics"]
        outcomes = result["outcomes"]
        assert metrics["n"] == len(questions) == len(outcomes)
        assert set(metrics["by_type"]) == {q.type for q in questions}
        assert set(metrics["by_language"]) == {q.language for q in questions}
        refused = sum(o["refused"] for o in outcomes)
        assert metrics["refusal"]["predicted"] == refused
        assert metrics["refusal"]["actual"] == sum(q.must_refuse for q in questions)
        check = result["calibration_check"]
        assert sum(b["count"] for b in check["bins"]) == len(questions)
        assert 0.0 <= check["ece"] <= 1.0
        for value in (metrics["answer_correct"], metrics["top_document_correct"]):
            assert value is None or 0.0 <= value <= 1.0
        assert result["leaked_documents"] == 0


def test_held_out_refusals_on_the_golden_set(sample_services):
    questions = load_golden()
    features = confidence_features(sample_services, questions)
    result = cross_validate_refusals(features, [f"{q.language}:{q.must_refuse}" for q in questions])
    must_refuse = sum(q.must_refuse for q in questions)
    assert result["cross_validated"]["actual"] == must_refuse
    assert sum(f["n"] for f in result["per_fold"]) == len(questions)
    assert result["in_sample"]["recall"] is not None


def test_agent_style_retrieval_is_scored_per_question(sample_services):
    agent = _sample(load_agent_style())
    result = evaluate_retrieval(sample_services, agent, "hybrid", per_question=True)
    answerable = [q for q in agent if not q.must_refuse and q.gold]
    assert set(result["per_question"]) == {q.id for q in answerable}

"""Answer-level metrics: hand-computed expectations, edge cases included."""

from __future__ import annotations

import dataclasses

import pytest

from eval.metrics import (
    AnswerOutcome,
    answer_breakdown,
    answer_summary,
    facts_shown,
    paired_by_tag,
    precision_recall,
    top_document_correct,
)


def outcome(**kw) -> AnswerOutcome:
    base = {
        "id": "q",
        "language": "en",
        "type": "fact",
        "must_refuse": False,
        "refused": False,
        "confidence": 0.8,
    }
    return AnswerOutcome(**(base | kw))


# ---------------------------------------------------------------- facts and top document


def test_facts_shown_needs_every_fact_in_the_shown_text():
    shown = ["Express delivery costs £15.", "Next working day if ordered by 16:00"]
    assert facts_shown(shown, ["£15", "Next working day if ordered by 16:00"])
    assert not facts_shown(shown, ["£15", "£20"])


def test_facts_shown_ignores_case_and_spacing_but_not_amounts():
    assert facts_shown(["next  working\nday"], ["Next working day"])
    assert not facts_shown(["£150"], ["£15"])
    assert not facts_shown(["£15.50"], ["£15"])
    assert not facts_shown(["£1,500"], ["500"])
    assert facts_shown(["It costs £15."], ["£15"])
    assert not facts_shown(["15"], ["£15"])
    assert facts_shown(["在13个月内"], ["13个月"])


def test_facts_shown_with_no_facts_or_no_text():
    assert not facts_shown(["anything"], [])
    assert not facts_shown([], ["£15"])


def test_top_document_correct():
    assert top_document_correct("a", {"a", "b"})
    assert not top_document_correct("c", {"a", "b"})
    assert not top_document_correct(None, {"a"})


# ---------------------------------------------------------------- precision and recall


def test_precision_recall_hand_computed():
    scores = precision_recall([True, True, False, False, True], [True, False, True, False, True])
    assert scores.true_positive == 2 and scores.predicted == 3 and scores.actual == 3
    assert scores.precision == pytest.approx(2 / 3)
    assert scores.recall == pytest.approx(2 / 3)


def test_precision_recall_undefined_is_none_not_one():
    nothing_said = precision_recall([False, False], [True, False])
    assert nothing_said.precision is None and nothing_said.recall == 0.0
    nothing_to_find = precision_recall([True, False], [False, False])
    assert nothing_to_find.recall is None and nothing_to_find.precision == 0.0
    empty = precision_recall([], [])
    assert empty.as_dict() == {
        "precision": None,
        "recall": None,
        "true_positive": 0,
        "predicted": 0,
        "actual": 0,
    }


# ---------------------------------------------------------------- the summary


def test_answer_summary_hand_computed():
    outcomes = [
        # answered, both facts in the headline, right document, no steps: all good
        outcome(id="1", answer_correct=True, answer_in_passages=True, top_document_correct=True),
        # answered, facts only in the passages, wrong document first, shows steps on a fact
        outcome(
            id="2",
            answer_correct=False,
            answer_in_passages=True,
            top_document_correct=False,
            steps_shown=True,
        ),
        # refused although answerable: wrong on every answer measure
        outcome(
            id="3",
            refused=True,
            answer_correct=True,
            answer_in_passages=True,
            top_document_correct=True,
        ),
        # procedure with steps expected and shown
        outcome(
            id="4",
            type="procedure",
            steps_expected=True,
            steps_shown=True,
            top_document_correct=True,
        ),
        # procedure with steps expected, none shown; no expected facts (None: left out)
        outcome(id="5", type="procedure", steps_expected=True, top_document_correct=True),
        # conflict question flagged
        outcome(id="6", type="conflict", conflict_flagged=True, top_document_correct=True),
        # a fact question wrongly flagged as a conflict
        outcome(id="7", conflict_flagged=True, top_document_correct=True),
        # must refuse, refused
        outcome(id="8", type="refusal", must_refuse=True, refused=True, confidence=0.1),
        # must refuse, answered
        outcome(id="9", type="refusal", must_refuse=True, confidence=0.6),
    ]
    m = answer_summary(outcomes)
    assert m["n"] == 9 and m["answerable"] == 7 and m["answered"] == 7
    assert m["answer_correct"] == round(1 / 3, 4)  # 1, 2, 3 have facts; only 1 counts
    assert m["answer_in_passages"] == pytest.approx(round(2 / 3, 4))
    assert m["top_document_correct"] == pytest.approx(round(5 / 7, 4))  # 2 and 3 wrong
    assert m["answerable_refused"] == pytest.approx(round(1 / 7, 4))
    assert m["steps_shown_when_expected"] == 0.5  # 4 yes, 5 no
    assert m["no_steps_when_not_expected"] == pytest.approx(round(2 / 3, 4))  # 1, 7 yes; 2 no
    assert m["conflict"]["precision"] == 0.5 and m["conflict"]["recall"] == 1.0
    assert m["refusal"]["precision"] == 0.5 and m["refusal"]["recall"] == 0.5


def test_answer_summary_without_conflict_questions():
    m = answer_summary([outcome(top_document_correct=True)])
    assert m["conflict"]["recall"] is None and m["conflict"]["precision"] is None
    flagged = answer_summary([outcome(conflict_flagged=True)])
    assert flagged["conflict"]["precision"] == 0.0 and flagged["conflict"]["recall"] is None


def test_answer_summary_when_everything_is_refused():
    outcomes = [
        outcome(id="1", refused=True, answer_correct=True, top_document_correct=True),
        outcome(id="2", type="conflict", refused=True, conflict_flagged=True),
        outcome(id="3", type="refusal", must_refuse=True, refused=True),
    ]
    m = answer_summary(outcomes)
    assert m["answered"] == 0
    assert m["answer_correct"] == 0.0 and m["top_document_correct"] == 0.0
    assert m["no_steps_when_not_expected"] is None  # no answered fact question to judge
    assert m["conflict"]["recall"] == 0.0  # a refused answer shows no conflict
    assert m["conflict"]["precision"] is None
    assert m["refusal"]["precision"] == pytest.approx(round(1 / 3, 4))
    assert m["refusal"]["recall"] == 1.0


def test_answer_summary_of_nothing():
    m = answer_summary([])
    assert m["n"] == 0 and m["answer_correct"] is None and m["refusal"]["precision"] is None


def test_breakdown_by_language_and_type():
    outcomes = [
        outcome(id="1", language="en", top_document_correct=True),
        outcome(id="2", language="zh", top_document_correct=False),
        outcome(id="3", language="zh", type="procedure", top_document_correct=True),
    ]
    m = answer_breakdown(outcomes)
    assert m["top_document_correct"] == pytest.approx(round(2 / 3, 4))
    assert m["by_language"]["en"]["top_document_correct"] == 1.0
    assert m["by_language"]["zh"]["top_document_correct"] == 0.5
    assert set(m["by_type"]) == {"fact", "procedure"}
    assert m["by_type"]["fact"]["n"] == 2


def test_metrics_do_not_mutate_their_inputs():
    outcomes = [outcome(id="1", top_document_correct=True), outcome(id="2", refused=True)]
    before = [dataclasses.replace(o) for o in outcomes]
    answer_breakdown(outcomes)
    assert outcomes == before


# ---------------------------------------------------------------- correct, as calibration sees it


def test_correct_and_stated_confidence():
    assert outcome(top_document_correct=True).correct
    assert not outcome(top_document_correct=True, refused=True).correct
    assert not outcome(top_document_correct=None).correct
    refused_ok = outcome(type="refusal", must_refuse=True, refused=True, confidence=0.1)
    assert refused_ok.correct and refused_ok.stated_confidence == pytest.approx(0.9)
    assert outcome(confidence=0.7).stated_confidence == 0.7


# ---------------------------------------------------------------- paired deltas


def test_paired_by_tag():
    original = {"q1": 1.0, "q2": 0.0, "q3": None}
    derived = {"a1": 0.0, "a2": 1.0, "a3": 1.0}
    derived_from = {"a1": "q1", "a2": "q2", "a3": "q3"}
    tags = {"a1": ["typo", "prefix"], "a2": ["prefix"], "a3": ["typo"]}
    result = paired_by_tag(original, derived, derived_from, tags)
    assert result["all"] == {"n": 2, "original": 0.5, "agent_style": 0.5, "delta": 0.0}
    assert result["typo"] == {"n": 1, "original": 1.0, "agent_style": 0.0, "delta": -1.0}
    assert result["prefix"]["n"] == 2

"""The confidence of an answer and the refusal: evidence, the curve, and its fit. Pure."""

from __future__ import annotations

import math

import pytest

from eval.run import BEFORE_ISSUE_10, cross_validate_refusals, fit_calibration, refusals_with
from kb.confidence import (
    CALIBRATIONS,
    DIRECTION,
    NOTHING_FOUND,
    WEAK_WORDS,
    Calibration,
    ConfidenceEvidence,
    confidence,
    content_words,
    coverage,
    heading_coverage,
    inverse_document_frequency,
    unreadable_share,
    unreadable_words,
)
from kb.lexical import tokenize


def test_confidence_is_the_logistic_of_the_weighted_evidence():
    curve = Calibration(intercept=-34.0, weights={"similarity": 40.0, "coverage": 3.0})
    evidence = ConfidenceEvidence(similarity=0.85, coverage=0.5)
    assert confidence(evidence, curve) == pytest.approx(1 / (1 + math.exp(-(-34 + 34 + 1.5))))
    lower = ConfidenceEvidence(similarity=0.80, coverage=0.5)
    more_words = ConfidenceEvidence(similarity=0.85, coverage=0.9)
    assert confidence(lower, curve) < confidence(evidence, curve) < confidence(more_words, curve)


def test_unreadable_words_lower_the_shipped_confidence_or_leave_it():
    for calibration in CALIBRATIONS.values():
        plain = ConfidenceEvidence(0.88, 0.6, unreadable=0.0)
        unknown = ConfidenceEvidence(0.88, 0.6, unreadable=0.8)
        assert confidence(unknown, calibration) <= confidence(plain, calibration)
        assert 0.0 <= calibration.refuse_below <= calibration.confident_from <= 1.0
        for name, weight in calibration.weights.items():
            assert DIRECTION.get(name, 0.0) * weight >= 0, (name, weight)


def test_nothing_found_is_refused_by_every_shipped_calibration():
    for calibration in CALIBRATIONS.values():
        assert confidence(NOTHING_FOUND, calibration) < calibration.refuse_below


def test_calibration_names_only_evidence_fields():
    with pytest.raises(ValueError, match="Unknown: \\['similarty'\\]"):
        Calibration(intercept=0.0, weights={"similarty": 1.0})
    assert ConfidenceEvidence.names() == (
        "similarity",
        "coverage",
        "unreadable",
        "chinese",
        "domain",
        "restricted_gap",
        "heading_coverage",
    )
    assert ConfidenceEvidence(0.9, 0.5, 0.25, 1.0, 0.8, 0.02, 0.4).values() == (
        0.9,
        0.5,
        0.25,
        1.0,
        0.8,
        0.02,
        0.4,
    )


def test_coverage_counts_glossary_equivalents():
    question = tokenize("透支 fee")
    assert coverage(question, "The overdraft fee is £5.") == pytest.approx(0.5)
    equivalents = {"透支": {"透支", "overdraft"}}
    assert coverage(question, "The overdraft fee is £5.", equivalents) == 1.0
    assert coverage([], "anything") == 0.0


def test_content_words_drop_asking_and_chinese_question_words():
    assert content_words(tokenize("tell me the CHAPS fee")) == tokenize("CHAPS fee")
    assert "多少" in WEAK_WORDS and "你们" in WEAK_WORDS
    assert content_words(["汽车", "贷款", "多少"]) == ["汽车", "贷款"]
    assert content_words(["tell"]) == ["tell"]  # nothing else left: keep what there is


def test_unreadable_words_use_the_readable_scope_and_the_glossary():
    words = ["klarna", "pay", "later"]
    assert unreadable_words(words, {"pay", "later"}) == ["klarna"]
    # An equivalent that is readable makes the word readable.
    assert unreadable_words(["透支"], {"overdraft"}, {"透支": {"透支", "overdraft"}}) == []
    # A Chinese compound whose part is readable is read; a new compound of new parts is not.
    assert unreadable_words(["汽车贷款", "汽车", "贷款"], {"贷款"}) == ["汽车"]
    assert unreadable_words(["红烧肉", "红烧", "烧肉"], {"贷款"}) == ["红烧肉", "红烧", "烧肉"]


def test_unreadable_share_weighs_rare_words_more():
    chunks = 100
    weights = {
        "interest": inverse_document_frequency(40, chunks),
        "rate": inverse_document_frequency(30, chunks),
        "car": inverse_document_frequency(0, chunks),
    }
    assert weights["car"] > weights["rate"] > weights["interest"]
    share = unreadable_share(["interest", "rate", "car"], weights, {"interest", "rate"})
    assert share == pytest.approx(weights["car"] / sum(weights.values()))
    assert share > 1 / 3
    assert unreadable_share([], {}, set()) == 0.0


def _synthetic(shift: float = 0.0) -> list[tuple[ConfidenceEvidence, bool]]:
    """Answerable questions: high similarity; must-refuse ones: lower, with unreadable
    words; Chinese questions score `shift` higher whatever they ask."""
    features = []
    for i in range(60):
        chinese = float(i % 3 == 0)
        evidence = ConfidenceEvidence(0.86 + 0.002 * (i % 10) + shift * chinese, 0.6, 0.1, chinese)
        features.append((evidence, False))
    for i in range(15):
        chinese = float(i % 3 == 0)
        evidence = ConfidenceEvidence(0.82 + 0.003 * (i % 5) + shift * chinese, 0.3, 0.6, chinese)
        features.append((evidence, True))
    return features


def test_fit_separates_synthetic_evidence_and_keeps_the_directions():
    features = _synthetic(shift=0.03)
    curve = fit_calibration(features, max_false_refusals=0.05)
    refused = [confidence(e, curve) < curve.refuse_below for e, _ in features]
    assert sum(refused[:60]) <= 3 and all(refused[60:])
    assert curve.confident_from >= curve.refuse_below
    assert curve.weights["similarity"] > 0 and curve.weights["unreadable"] <= 0
    assert curve.weights["chinese"] < 0  # the same similarity means less in Chinese
    before = fit_calibration(features, names=BEFORE_ISSUE_10)
    assert set(before.weights) == set(BEFORE_ISSUE_10)


def test_a_wrong_way_weight_is_held_at_zero():
    # Must-refuse questions with fewer unreadable words than answerable ones: the data
    # says "unreadable words, more confident"; the fit keeps the weight at zero.
    features = [(ConfidenceEvidence(0.9, 0.6, unreadable=0.5), False) for _ in range(30)]
    features += [(ConfidenceEvidence(0.8, 0.3, unreadable=0.0), True) for _ in range(10)]
    assert fit_calibration(features).weights["unreadable"] == 0.0


def test_held_out_and_agent_style_refusals_use_all_the_evidence():
    features = _synthetic(shift=0.03)
    strata = [f"{e.chinese}:{r}" for e, r in features]
    result = cross_validate_refusals(features, strata, folds=3, seed=1)
    assert result["evidence"] == list(ConfidenceEvidence.names())
    assert result["cross_validated"]["actual"] == 15
    assert result["cross_validated"]["recall"] == 1.0
    two = cross_validate_refusals(features, strata, folds=3, seed=1, names=BEFORE_ISSUE_10)
    assert two["evidence"] == list(BEFORE_ISSUE_10)
    judged = refusals_with(features, fit_calibration(features))
    assert judged["actual"] == 15 and judged["recall"] == 1.0


def test_heading_coverage_is_the_weighted_share_of_words_in_the_headings():
    weights = {"car": 5.0, "loan": 3.0, "interest": 2.0, "rate": 2.0}
    words = ["interest", "rate", "car", "loan"]
    heading = "Overdraft Product Sheet Interest rates and fees > Arranged overdraft"
    assert heading_coverage(words, weights, heading) == pytest.approx(4.0 / 12.0)
    assert heading_coverage(words, weights, "Car loans > Interest rate") == 1.0
    assert heading_coverage(words, weights, "") == 0.0
    assert heading_coverage([], weights, heading) == 0.0


def test_heading_coverage_counts_glossary_equivalents_and_chinese_headings():
    words = content_words(tokenize("透支 利率"))
    weights = {w: 1.0 for w in words}
    assert heading_coverage(words, weights, "Overdraft rates") == 0.0
    equivalents = {"透支": {"透支", "overdraft"}}
    assert heading_coverage(words, weights, "Overdraft", equivalents) == pytest.approx(0.5)
    assert heading_coverage(words, weights, "个人透支利率") == 1.0  # jieba cuts the heading


def test_the_shipped_curve_rises_with_heading_coverage():
    plain = ConfidenceEvidence(0.88, 0.6, heading_coverage=0.0)
    named = ConfidenceEvidence(0.88, 0.6, heading_coverage=1.0)
    assert confidence(named, CALIBRATIONS["e5"]) > confidence(plain, CALIBRATIONS["e5"])

"""Reliability bins, ECE, stratified folds and held-out refusal checks."""

from __future__ import annotations

from collections import Counter

import pytest

from eval.metrics import (
    AnswerOutcome,
    best_f1_threshold,
    calibration_summary,
    expected_calibration_error,
    reliability_bins,
    stratified_folds,
)
from eval.run import cross_validate_refusals
from kb.confidence import ConfidenceEvidence


def test_reliability_bins_hand_computed():
    bins = reliability_bins([0.05, 0.15, 0.18, 0.95, 1.0], [True, False, True, True, False], 10)
    assert len(bins) == 10
    assert bins[0].count == 1 and bins[0].accuracy == 1.0 and bins[0].mean_confidence == 0.05
    assert bins[1].count == 2 and bins[1].accuracy == 0.5
    assert bins[1].mean_confidence == pytest.approx(0.165)
    assert bins[9].count == 2  # 1.0 falls in the last bin
    assert bins[9].accuracy == 0.5 and bins[9].mean_confidence == pytest.approx(0.975)
    assert all(b.count == 0 and b.accuracy is None for b in bins[2:9])


def test_ece_hand_computed():
    bins = reliability_bins([0.05, 0.15, 0.18, 0.95, 1.0], [True, False, True, True, False], 10)
    expected = (1 * abs(1.0 - 0.05) + 2 * abs(0.5 - 0.165) + 2 * abs(0.5 - 0.975)) / 5
    assert expected_calibration_error(bins) == pytest.approx(expected)


def test_ece_is_zero_when_confidence_matches_accuracy():
    confidences = [0.25] * 4 + [0.75] * 4
    correct = [True, False, False, False, True, True, True, False]
    assert expected_calibration_error(reliability_bins(confidences, correct)) == pytest.approx(0)


def test_ece_of_nothing_is_zero():
    assert expected_calibration_error(reliability_bins([], [])) == 0.0


def test_calibration_summary_uses_stated_confidence():
    outcomes = [
        AnswerOutcome("1", "en", "fact", False, False, 0.85, top_document_correct=True),
        AnswerOutcome("2", "en", "refusal", True, True, 0.15),  # stated 0.85, correct
        AnswerOutcome("3", "en", "fact", False, True, 0.15, top_document_correct=True),  # wrong
    ]
    summary = calibration_summary(outcomes)
    assert summary["n"] == 3 and summary["answered_n"] == 1
    assert summary["bins"][8]["count"] == 3  # 0.85, 0.85, 0.85
    assert summary["accuracy"] == pytest.approx(round(2 / 3, 4))
    assert summary["ece"] == pytest.approx(round(abs(2 / 3 - 0.85), 4))
    assert summary["answered_ece"] == pytest.approx(0.15)


def test_stratified_folds_are_balanced_and_deterministic():
    strata = ["en:False"] * 50 + ["zh:False"] * 25 + ["en:True"] * 10 + ["zh:True"] * 5
    folds = stratified_folds(strata, 5, seed=7)
    assert folds == stratified_folds(strata, 5, seed=7)
    assert folds != stratified_folds(strata, 5, seed=8)
    assert Counter(folds) == {f: 18 for f in range(5)}
    for stratum in set(strata):
        counts = Counter(f for f, s in zip(folds, strata, strict=True) if s == stratum)
        assert max(counts.values()) - min(counts.values()) <= 1
        assert len(counts) == 5


def test_best_f1_threshold():
    confidences = [0.1, 0.2, 0.3, 0.6, 0.7, 0.9]
    must_refuse = [True, True, False, False, False, False]
    assert best_f1_threshold(confidences, must_refuse) == 0.3  # refuse below 0.3: exact


def _features():
    """Answerable questions with high similarity, must-refuse ones with low, a little overlap."""
    features = []
    for i in range(40):
        features.append((ConfidenceEvidence(0.86 + 0.002 * (i % 10), 0.5 + 0.01 * (i % 5)), False))
    for i in range(12):
        features.append((ConfidenceEvidence(0.80 + 0.004 * (i % 6), 0.2 + 0.02 * (i % 4)), True))
    strata = [f"{'en' if i % 2 else 'zh'}:{r}" for i, (_, r) in enumerate(features)]
    return features, strata


def test_cross_validated_refusals_report_in_sample_and_held_out():
    features, strata = _features()
    result = cross_validate_refusals(features, strata, folds=4, seed=3)
    assert result == cross_validate_refusals(features, strata, folds=4, seed=3)
    assert result["folds"] == 4 and len(result["per_fold"]) == 4
    assert sum(f["n"] for f in result["per_fold"]) == len(features)
    for key in ("in_sample", "cross_validated", "cross_validated_f1_threshold"):
        assert result[key]["actual"] == 12
        assert result[key]["recall"] is not None
    # Separable features: the F1-chosen threshold finds every must-refuse question.
    assert result["cross_validated_f1_threshold"]["recall"] == 1.0

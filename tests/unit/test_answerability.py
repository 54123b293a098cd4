"""Candidate answerability signals and their held-out judging (eval.answerability). Pure."""

from __future__ import annotations

import random

import numpy as np
import pytest

from eval.answerability import (
    SIGNALS,
    QuestionSignals,
    dense_lexical_agreement,
    document_margin,
    document_of,
    domain_similarity,
    fit_refusals,
    held_out_refusals,
    labels,
    matrix,
    phrase_signals,
    restricted_gap,
    roc_auc,
    transferred,
)
from eval.run import fit_calibration
from kb.confidence import ConfidenceEvidence
from kb.lexical import tokenize

IDF = {"interest": 2.0, "rate": 2.0, "car": 5.0, "loan": 3.0, "business": 2.5, "overdraft": 3.0}


def test_the_rarest_absent_word_and_the_missing_phrase_are_found():
    question = tokenize("What's the interest rate on your car loans?")
    passages = [tokenize("The interest rate on an arranged overdraft is 19.9%.")]
    rarest, weighted, phrase = phrase_signals(question, passages, IDF)
    assert rarest == 5.0  # "car" is in no top passage; "loan" (3.0) neither, but it is less rare
    assert weighted == pytest.approx(4.0 / 12.0)  # interest + rate of interest, rate, car, loan
    assert phrase == pytest.approx(4.0 / 19.0)  # "interest rate" (4) of it, "rate car", "car loan"


def test_a_phrase_found_word_for_word_covers_the_question():
    question = tokenize("business loan rate")
    passages = [tokenize("Rates: business loan rate 7%"), tokenize("overdraft")]
    assert phrase_signals(question, passages, IDF) == (0.0, 1.0, 1.0)


def test_the_same_words_apart_are_not_the_phrase():
    question = tokenize("business loan")
    passages = [tokenize("A business account; a loan is not offered")]
    rarest, weighted, phrase = phrase_signals(question, passages, IDF)
    assert (rarest, weighted, phrase) == (0.0, 1.0, 0.0)


def test_glossary_equivalents_and_unseen_words_count():
    question = tokenize("透支 car")
    passages = [tokenize("arranged overdraft")]
    equivalents = {"透支": {"overdraft", "透支"}}
    rarest, weighted, _ = phrase_signals(question, passages, IDF, equivalents, unseen_idf=6.0)
    assert rarest == 5.0  # 透支 is found as "overdraft"; "car" is not
    assert weighted == pytest.approx(6.0 / 11.0)  # 透支 is in no passage of the base: weight 6


def test_domain_similarity_is_the_mean_similarity():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(20, 8))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    question = vectors[3]
    assert domain_similarity(question, vectors) == pytest.approx(float((vectors @ question).mean()))
    assert domain_similarity(question, vectors[:0]) == 0.0


def test_the_restricted_gap_is_how_much_nearer_an_unreadable_passage_is():
    scores = np.array([0.80, 0.86, 0.91, 0.84])
    readable, restricted = np.array([0, 1, 3]), np.array([2])
    assert restricted_gap(scores, readable, restricted) == pytest.approx(0.05)
    assert restricted_gap(scores, np.array([2]), np.array([0, 1])) == 0.0  # readable is nearer
    assert restricted_gap(scores, np.arange(4), np.array([], dtype=int)) == 0.0  # reads all


def test_the_document_margin_is_against_the_best_passage_of_another_document():
    scores = np.array([0.91, 0.89, 0.86, 0.95])
    documents = np.array([0, 0, 1, 2])
    readable = np.array([0, 1, 2])  # position 3 (document 2) is not readable
    assert document_margin(scores, readable, documents) == pytest.approx(0.05)  # 0.91 - 0.86
    assert document_margin(scores, np.array([0, 1]), documents) == 0.0  # one document
    assert document_margin(scores, np.array([], dtype=int), documents) == 0.0


def test_dense_lexical_agreement_is_the_reciprocal_rank_of_the_dense_top_document():
    assert dense_lexical_agreement(["a", "b"], ["a", "a", "c"]) == 1.0
    assert dense_lexical_agreement(["c"], ["a", "a", "b", "c"]) == pytest.approx(1 / 3)
    assert dense_lexical_agreement(["c"], ["a", "b", "d", "e", "f", "c"]) == 0.0  # beyond 5
    assert dense_lexical_agreement([], ["a"]) == 0.0
    assert document_of("lost-card:v2:14") == "lost-card"


def test_roc_auc_counts_ties_as_half():
    positive = np.array([True, True, False, False])
    assert roc_auc(np.array([0.9, 0.8, 0.1, 0.2]), positive) == 1.0
    assert roc_auc(np.array([0.5, 0.5, 0.5, 0.5]), positive) == 0.5


def _rows(n: int = 120, seed: int = 3) -> list[QuestionSignals]:
    """Synthetic questions: one in four must refuse and sits lower on similarity and domain;
    phrase_coverage is noise pointing the wrong way for half of them."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        refuse = i % 4 == 0
        shift = -0.04 if refuse else 0.0
        rows.append(
            QuestionSignals(
                question_id=f"q{i}",
                language="en" if i % 2 else "zh",
                must_refuse=refuse,
                evidence=ConfidenceEvidence(
                    similarity=0.85 + shift + rng.gauss(0, 0.01),
                    coverage=rng.random(),
                    unreadable=rng.random() * 0.2,
                    chinese=0.0 if i % 2 else 1.0,
                    domain=0.78 + shift / 2 + rng.gauss(0, 0.005),
                    restricted_gap=max(0.0, rng.gauss(0.0, 0.02)),
                ),
                rarest_absent=rng.random() * 6,
                weighted_coverage=rng.random(),
                phrase_coverage=(0.9 if refuse else 0.1) if i % 8 < 4 else rng.random(),
            )
        )
    return rows


def test_the_fit_keeps_each_signal_direction_and_separates():
    rows = _rows()
    names = (*ConfidenceEvidence.names(), *SIGNALS)
    fit = fit_refusals(matrix(rows, names), labels(rows), names)
    weights = dict(zip(names, fit.weights, strict=True))
    assert weights["similarity"] > 0 and weights["domain"] > 0
    assert weights["phrase_coverage"] == 0.0  # it points the wrong way here: held at zero
    assert weights["rarest_absent"] <= 0.0 and weights["unreadable"] <= 0.0
    result = held_out_refusals(rows, names)
    assert result["held_out"]["actual"] == 30
    assert result["held_out"]["recall"] >= 0.9


def test_the_array_fit_matches_the_shipped_calibration_fit():
    """fit_refusals is eval.run.fit_calibration on arrays: the same curve and threshold on
    the shipped evidence, so the report's rows compare with `kb eval`'s."""
    rows = _rows()
    names = ConfidenceEvidence.names()
    fit = fit_refusals(matrix(rows, names), labels(rows), names)
    shipped = fit_calibration([(r.evidence, r.must_refuse) for r in rows])
    for name, weight in zip(names, fit.weights, strict=True):
        assert weight == pytest.approx(shipped.weights[name], rel=0.05, abs=0.05)
    assert fit.refuse_below == pytest.approx(shipped.refuse_below, abs=0.02)


def test_transfer_reports_answerable_refused():
    rows = _rows()
    result = transferred(rows[:80], rows[80:], ("similarity", "domain"))
    assert result["actual"] == 10
    assert 0.0 <= result["answerable_refused"] <= 0.3
    assert set(result["weights"]) == {"similarity", "domain"}


def test_public_pairs_lose_the_answer_when_its_snippet_is_taken_out():
    """eval.answerability_public asks each public question of the whole base and of the base
    without its snippet: the second must look less answerable on the evidence that matters."""
    from eval.answerability_public import NAMES, _signals

    texts = [
        "Grant Hotel: Is there parking?\nParking is available at Grant Hotel for $40 a night.",
        "Grant Hotel: Do they allow pets?\nPets are not allowed at Grant Hotel.",
        "Hotel Nikko: Is there parking?\nValet parking costs $55 at Hotel Nikko.",
    ]
    tokens = [tokenize(t) for t in texts]
    frequency: dict[str, int] = {}
    for passage in tokens:
        for token in set(passage):
            frequency[token] = frequency.get(token, 0) + 1
    vectors = np.eye(3)
    question = "Grant Hotel: do they have parking"
    vector = np.array([0.9, 0.1, 0.4]) / np.linalg.norm([0.9, 0.1, 0.4])
    whole = dict(
        zip(
            NAMES,
            _signals(question, vector, vectors, texts, tokens, frequency, np.array([True] * 3)),
            strict=True,
        )
    )
    without = dict(
        zip(
            NAMES,
            _signals(
                question, vector, vectors, texts, tokens, frequency, np.array([False, True, True])
            ),
            strict=True,
        )
    )
    assert whole["similarity"] == pytest.approx(vector[0])
    assert without["similarity"] == pytest.approx(vector[2])  # Hotel Nikko's parking answers now
    assert without["coverage"] < whole["coverage"]  # "grant" is not in Nikko's snippet
    assert without["domain"] == pytest.approx((vector[1] + vector[2]) / 2)

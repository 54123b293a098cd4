"""Quality floors on the golden set: CI fails if retrieval, refusals or access control regress.

Floors sit a little under the values measured by `kb eval` (eval/reports/eval.md) so noise
does not fail the build but a real regression does.
"""

from __future__ import annotations

import pytest

from eval.golden import load_golden
from eval.run import evaluate_answers, evaluate_retrieval

pytestmark = pytest.mark.integration

RECALL_AT_5_FLOOR = 0.90  # measured 0.925
MRR_FLOOR = 0.80  # measured 0.838
REFUSAL_ACCURACY_FLOOR = 0.82  # measured 0.851


def test_hybrid_retrieval_recall_and_leakage(sample_services):
    result = evaluate_retrieval(sample_services, load_golden(), "hybrid")
    assert result["recall@5"] >= RECALL_AT_5_FLOOR, result
    assert result["mrr@10"] >= MRR_FLOOR, result
    assert result["leaked_chunks"] == 0


def test_answers_refusals_citations_and_leakage(sample_services):
    result = evaluate_answers(sample_services, load_golden())
    assert result["refusal"]["accuracy"] >= REFUSAL_ACCURACY_FLOOR, result["refusal"]
    assert result["leaked_documents"] == 0
    assert result["citation_correct"] == 1.0

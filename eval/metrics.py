"""Metric functions: data in, numbers out, inputs never modified."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence


def dedupe(ranked: Sequence[str]) -> list[str]:
    """Document ids in first-seen order (several chunks of one document count once)."""
    return list(dict.fromkeys(ranked))


def recall_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def hit_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """1 if any relevant item is in the top k (the usual 'success@k' for one-answer questions)."""
    return 1.0 if relevant.intersection(ranked[:k]) else 0.0


def reciprocal_rank(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float:
    for position, item in enumerate(ranked[:k], start=1):
        if item in relevant:
            return 1.0 / position
    return 0.0


def ndcg_at(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float:
    gains = sum(1.0 / math.log2(i + 2) for i, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return gains / ideal if ideal else 0.0


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def refusal_scores(refused: Sequence[bool], must_refuse: Sequence[bool]) -> dict[str, float]:
    """Precision and recall of refusing, and overall accuracy of the refuse/answer decision."""
    pairs = list(zip(refused, must_refuse, strict=True))
    true_positive = sum(1 for r, m in pairs if r and m)
    predicted = sum(1 for r, _ in pairs if r)
    actual = sum(1 for _, m in pairs if m)
    correct = sum(1 for r, m in pairs if r == m)
    return {
        "precision": true_positive / predicted if predicted else 1.0,
        "recall": true_positive / actual if actual else 1.0,
        "accuracy": correct / len(pairs) if pairs else 0.0,
    }


def step_scores(shown: Sequence[str], gold: Sequence[str]) -> tuple[float, float]:
    """(recall, order): share of gold steps found among the shown steps (prefix match), and
    share of consecutive found gold steps that appear in the right order."""

    def position(step: str) -> int | None:
        wanted = step.strip().lower()[:40]
        for i, text in enumerate(shown):
            if text.strip().lower().startswith(wanted) or wanted in text.strip().lower():
                return i
        return None

    positions = [position(step) for step in gold]
    found = [p for p in positions if p is not None]
    recall = len(found) / len(gold) if gold else 0.0
    if len(found) < 2:
        return recall, 1.0 if found else 0.0
    ordered = sum(1 for a, b in itertools.pairwise(found) if a < b)
    return recall, ordered / (len(found) - 1)

"""Metric functions: data in, numbers out, inputs never modified."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass


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


# ---------------------------------------------------------------- answers an agent can trust


def _normalised(text: str) -> str:
    """Case-folded with runs of whitespace made one space, so "Next working day" matches
    "next  working day" but "£15" still has to be "£15"."""
    return " ".join(text.casefold().split())


def facts_shown(texts: Sequence[str], facts: Sequence[str]) -> bool:
    """Whether every expected fact appears in the given texts (headline sentences and steps,
    say): the agent can read the answer without opening a passage. No facts: False, since
    nothing can be checked. A fact that starts or ends with a digit must not run on into
    more digits, so "£15" is not found in "£150" or "£15.50"."""
    if not facts:
        return False
    shown = _normalised(" \n ".join(texts))
    return all(_fact_pattern(fact).search(shown) for fact in facts)


def _fact_pattern(fact: str) -> re.Pattern[str]:
    wanted = _normalised(fact)
    left = r"(?<!\d)(?<!\d[.,])" if wanted[:1].isdigit() else ""
    right = r"(?!\d)(?![.,]\d)" if wanted[-1:].isdigit() else ""
    return re.compile(left + re.escape(wanted) + right)


def top_document_correct(first_document: str | None, gold_documents: set[str]) -> bool:
    """Whether the first passage shown comes from a gold document."""
    return first_document is not None and first_document in gold_documents


@dataclass(frozen=True)
class PrecisionRecall:
    """Precision and recall of a yes/no decision with the counts behind them; None where a
    figure is undefined (nothing predicted, or nothing to find), so a report says "n/a"
    instead of a flattering 1.0."""

    precision: float | None
    recall: float | None
    true_positive: int
    predicted: int
    actual: int

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "precision": None if self.precision is None else round(self.precision, 4),
            "recall": None if self.recall is None else round(self.recall, 4),
            "true_positive": self.true_positive,
            "predicted": self.predicted,
            "actual": self.actual,
        }


def precision_recall(predicted: Sequence[bool], actual: Sequence[bool]) -> PrecisionRecall:
    """Precision of `predicted` over the cases it says yes to, recall over the actual yeses."""
    pairs = list(zip(predicted, actual, strict=True))
    true_positive = sum(1 for p, a in pairs if p and a)
    said = sum(1 for p, _ in pairs if p)
    wanted = sum(1 for _, a in pairs if a)
    return PrecisionRecall(
        precision=true_positive / said if said else None,
        recall=true_positive / wanted if wanted else None,
        true_positive=true_positive,
        predicted=said,
        actual=wanted,
    )


@dataclass(frozen=True)
class AnswerOutcome:
    """What one question's answer got right or wrong, as plain flags.

    None means the measure does not apply to this question (no expected facts, no gold
    document, must-refuse): it is left out of that measure's mean instead of counted as 0."""

    id: str
    language: str
    type: str
    must_refuse: bool
    refused: bool
    confidence: float
    answer_correct: bool | None = None  # every expected fact in the sentences or steps
    answer_in_passages: bool | None = None  # every expected fact in the top 3 passages
    top_document_correct: bool | None = None
    steps_expected: bool = False
    steps_shown: bool = False
    conflict_flagged: bool = False

    @property
    def correct(self) -> bool:
        """The decision and what it shows are right: an answerable question answered with a
        gold document first, or a must-refuse question refused."""
        if self.must_refuse:
            return self.refused
        return not self.refused and bool(self.top_document_correct)

    @property
    def stated_confidence(self) -> float:
        """How sure the system is of the outcome it showed: the confidence for an answer,
        one minus it for a refusal (a refusal at 0.1 is a refusal it is 90% sure of)."""
        return 1.0 - self.confidence if self.refused else self.confidence


def _share(values: Sequence[bool | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known) / len(known), 4) if known else None


def answer_summary(outcomes: Sequence[AnswerOutcome]) -> dict:
    """The answer-level measures of a group of outcomes (see the report for definitions).

    answer correct / top document correct / answer in passages: over answerable questions
    where the measure applies, a refusal counting as wrong. Steps shown when expected: over
    answerable questions with gold steps (a refusal shows none). Steps not shown when not
    expected: over answered plain fact questions. Conflicts: precision over answered
    questions, recall over all conflict questions. Refusals: precision and recall of refusing."""
    answerable = [o for o in outcomes if not o.must_refuse]

    def applied(flag: str) -> list[bool | None]:
        return [
            None if getattr(o, flag) is None else (not o.refused and getattr(o, flag))
            for o in answerable
        ]

    answered = [o for o in outcomes if not o.refused]
    # A refused answer shows no conflict: flagged-and-answered has the same positives as
    # "flagged among answered questions", so precision is over answered questions and
    # recall over every conflict question.
    conflicts = precision_recall(
        [o.conflict_flagged and not o.refused for o in outcomes],
        [o.type == "conflict" for o in outcomes],
    )
    return {
        "n": len(outcomes),
        "answerable": len(answerable),
        "answered": len(answered),
        "answer_correct": _share(applied("answer_correct")),
        "answer_in_passages": _share(applied("answer_in_passages")),
        "top_document_correct": _share(applied("top_document_correct")),
        "answerable_refused": _share([o.refused for o in answerable]),
        "steps_shown_when_expected": _share(
            [not o.refused and o.steps_shown for o in answerable if o.steps_expected]
        ),
        "no_steps_when_not_expected": _share(
            [
                not o.steps_shown
                for o in answered
                if not o.must_refuse and o.type == "fact" and not o.steps_expected
            ]
        ),
        "conflict": conflicts.as_dict(),
        "refusal": precision_recall(
            [o.refused for o in outcomes], [o.must_refuse for o in outcomes]
        ).as_dict(),
    }


def answer_breakdown(outcomes: Sequence[AnswerOutcome]) -> dict:
    """answer_summary overall, per language and per question type."""
    by_language: dict[str, list[AnswerOutcome]] = {}
    by_type: dict[str, list[AnswerOutcome]] = {}
    for outcome in outcomes:
        by_language.setdefault(outcome.language, []).append(outcome)
        by_type.setdefault(outcome.type, []).append(outcome)
    return {
        **answer_summary(outcomes),
        "by_language": {k: answer_summary(v) for k, v in sorted(by_language.items())},
        "by_type": {k: answer_summary(v) for k, v in sorted(by_type.items())},
    }


# ---------------------------------------------------------------- calibration


@dataclass(frozen=True)
class ReliabilityBin:
    """One confidence bin of a reliability diagram."""

    low: float
    high: float
    count: int
    mean_confidence: float | None
    accuracy: float | None


def reliability_bins(
    confidences: Sequence[float], correct: Sequence[bool], bins: int = 10
) -> list[ReliabilityBin]:
    """Equal-width bins over [0, 1]; a confidence of exactly 1.0 falls in the last bin."""
    pairs = list(zip(confidences, correct, strict=True))
    result = []
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = [(c, ok) for c, ok in pairs if (low <= c < high) or (b == bins - 1 and c == high)]
        result.append(
            ReliabilityBin(
                low=round(low, 4),
                high=round(high, 4),
                count=len(inside),
                mean_confidence=sum(c for c, _ in inside) / len(inside) if inside else None,
                accuracy=sum(1 for _, ok in inside if ok) / len(inside) if inside else None,
            )
        )
    return result


def expected_calibration_error(bins: Sequence[ReliabilityBin]) -> float:
    """ECE: the count-weighted mean gap between confidence and accuracy over the bins."""
    total = sum(b.count for b in bins)
    if not total:
        return 0.0
    return sum(
        b.count / total * abs(b.accuracy - b.mean_confidence)
        for b in bins
        if b.count and b.accuracy is not None and b.mean_confidence is not None
    )


def stratified_folds(strata: Sequence[str], k: int = 5, seed: int = 0) -> list[int]:
    """A fold number in 0..k-1 per item, each stratum dealt round-robin after a seeded
    shuffle, so every fold holds about the same share of each stratum."""
    import random

    rng = random.Random(seed)
    folds = [0] * len(strata)
    groups: dict[str, list[int]] = {}
    for index, stratum in enumerate(strata):
        groups.setdefault(stratum, []).append(index)
    offset = 0
    for stratum in sorted(groups):
        members = list(groups[stratum])
        rng.shuffle(members)
        for position, index in enumerate(members):
            folds[index] = (offset + position) % k
        offset += len(members)  # start the next stratum where this one stopped
    return folds


def calibration_summary(outcomes: Sequence[AnswerOutcome], bins: int = 10) -> dict:
    """Reliability bins and ECE of the stated confidence against "correct" (see
    AnswerOutcome.correct and .stated_confidence), and the ECE of the confidence shown next
    to answered questions alone, against "top document correct"."""
    overall = reliability_bins(
        [o.stated_confidence for o in outcomes], [o.correct for o in outcomes], bins
    )
    answered = [o for o in outcomes if not o.refused]
    shown = reliability_bins([o.confidence for o in answered], [o.correct for o in answered], bins)
    return {
        "n": len(outcomes),
        "ece": round(expected_calibration_error(overall), 4),
        "accuracy": _share([o.correct for o in outcomes]),
        "mean_stated_confidence": round(mean([o.stated_confidence for o in outcomes]), 4),
        "bins": [b.__dict__ for b in overall],
        "answered_n": len(answered),
        "answered_ece": round(expected_calibration_error(shown), 4),
    }


def best_f1_threshold(confidences: Sequence[float], must_refuse: Sequence[bool]) -> float:
    """The refusal threshold (refuse below it) with the best F1 of refusing on these
    questions; ties go to the lower threshold, which refuses less."""
    candidates = [*sorted(set(confidences)), 1.0 + 1e-09]
    best, best_f1 = 0.0, -1.0
    for threshold in candidates:
        scores = precision_recall([c < threshold for c in confidences], must_refuse)
        p, r = scores.precision or 0.0, scores.recall or 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        if f1 > best_f1:
            best, best_f1 = threshold, f1
    return best


def paired_by_tag(
    original: dict[str, float | None],
    derived: dict[str, float | None],
    derived_from: dict[str, str],
    tags: dict[str, Sequence[str]],
) -> dict[str, dict]:
    """For each tag (a rewrite rule, say): over the derived items carrying it whose value and
    whose original's value are both known, the mean of each and the difference."""
    pairs: dict[str, list[tuple[float, float]]] = {}
    for item, value in derived.items():
        source = derived_from.get(item)
        before = original.get(source) if source is not None else None
        if value is None or before is None:
            continue
        for tag in ["all", *tags.get(item, ())]:
            pairs.setdefault(tag, []).append((float(before), float(value)))
    return {
        tag: {
            "n": len(values),
            "original": round(mean([a for a, _ in values]), 4),
            "agent_style": round(mean([b for _, b in values]), 4),
            "delta": round(mean([b - a for a, b in values]), 4),
        }
        for tag, values in pairs.items()
    }

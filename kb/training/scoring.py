"""Scores for trainees' answers, progress on learning paths, and weak topics. Pure.

Scores are in 0..1 so they can be averaged across exercise kinds. Ordering gives partial
credit (a trainee who swaps two neighbouring steps mostly knows the procedure); a fill-in is
right or wrong, but forgives how the value is typed ("£25,000", "25000" and "２５０００" are
the same answer); a drill gives half for finding the right document and half for its steps.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from kb.training.types import (
    Attempt,
    DrillPayload,
    Exercise,
    FillPayload,
    GivenAnswer,
    LearningPath,
    OrderPayload,
    Progress,
    TopicScore,
)

__all__ = [
    "WEAK_BELOW",
    "normalise_value",
    "progress",
    "score_answer",
    "score_drill",
    "score_fill",
    "score_order",
    "topic_scores",
    "weak_topics",
]

WEAK_BELOW = 0.7
"""A topic whose mean score is below this is shown to the trainer as weak."""

_CURRENCY = re.compile(
    r"hk\$|us\$|s\$|a\$|c\$|nz\$|rmb|hkd|usd|gbp|eur|cny|jpy|[£$€¥]"
    r"|港元|港币|港幣|英镑|英鎊|美元|欧元|歐元|日元|人民币|人民幣|元"
)
_RANGE_SEPARATOR = re.compile(r"(?<=\d)\s*(?:-|–|—|~|to|至|到)\s*(?=\d)")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_TRAILING_ZEROS = re.compile(r"(\d+\.\d*?)0+(?!\d)")
_BARE_POINT = re.compile(r"(?<=\d)\.(?!\d)")


def normalise_value(text: str) -> str:
    """A typed value reduced to what it says: full-width forms folded (NFKC), case folded,
    currency symbols and codes, thousands separators, percent signs and all white space
    removed, ranges written "5-7", and "25.00" written "25"."""
    value = unicodedata.normalize("NFKC", text).casefold()
    value = _CURRENCY.sub("", value)
    value = _THOUSANDS.sub("", value)
    value = _RANGE_SEPARATOR.sub("-", value)
    value = value.replace("%", "")
    value = re.sub(r"\s+", "", value)
    value = _TRAILING_ZEROS.sub(r"\1", value)
    value = _BARE_POINT.sub("", value)
    return value.strip(".,;:。，；：")


def _same_text(text: str) -> str:
    return " ".join(text.split())


def _keyed(items: Iterable[str]) -> list[tuple[str, int]]:
    """Each item with its occurrence number, so repeated texts are told apart in order."""
    seen: dict[str, int] = {}
    keys = []
    for item in items:
        text = _same_text(item)
        seen[text] = seen.get(text, 0) + 1
        keys.append((text, seen[text]))
    return keys


def score_order(correct: Sequence[str], given: Sequence[str]) -> float:
    """Share of step pairs the trainee put in the right relative order (Kendall tau scaled
    to 0..1), so 1.0 exactly when `given` is `correct`.

    A step left out counts against every pair it is in; a step that is not in `correct` (or
    is there one time too many) counts as one more wrong pair.
    """
    right = _keyed(correct)
    answer = _keyed(given)
    if len(right) < 2:
        return 1.0 if answer == right else 0.0
    position = {key: index for index, key in enumerate(answer)}
    wanted = set(right)
    extras = sum(1 for key in answer if key not in wanted)
    concordant = 0
    for i, first in enumerate(right):
        for second in right[i + 1 :]:
            if first in position and second in position and position[first] < position[second]:
                concordant += 1
    pairs = len(right) * (len(right) - 1) // 2
    return concordant / (pairs + extras)


def score_fill(answer: str, accepted: Sequence[str], given: str) -> float:
    """1.0 when `given` says the same value as `answer` or one of `accepted` (see
    normalise_value), else 0.0. An empty answer is wrong."""
    typed = normalise_value(given)
    if not typed:
        return 0.0
    return 1.0 if any(typed == normalise_value(a) for a in (answer, *accepted)) else 0.0


def _in_order_matches(gold: Sequence[str], chosen: Sequence[str]) -> int:
    """Length of the longest common subsequence: gold steps found in the same order."""
    a = [_same_text(s) for s in gold]
    b = [_same_text(s) for s in chosen]
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, step in enumerate(a):
        for j, pick in enumerate(b):
            table[i + 1][j + 1] = (
                table[i][j] + 1 if step == pick else max(table[i][j + 1], table[i + 1][j])
            )
    return table[len(a)][len(b)]


def score_drill(
    gold_document: str,
    gold_steps: Sequence[str],
    chosen_document: str | None,
    chosen_steps: Sequence[str],
) -> float:
    """0.5 for the right document plus 0.5 × the share of gold steps chosen in the right
    order. With no gold steps (the document has no procedure), the document is everything."""
    document_score = 1.0 if chosen_document == gold_document else 0.0
    if not gold_steps:
        return document_score
    recall = _in_order_matches(gold_steps, chosen_steps) / len(gold_steps)
    return 0.5 * document_score + 0.5 * recall


def score_answer(exercise: Exercise, given: GivenAnswer) -> float:
    """Score `given` against `exercise` with the scorer of its kind."""
    payload = exercise.payload
    if isinstance(payload, OrderPayload):
        return score_order(payload.steps, given.steps)
    if isinstance(payload, FillPayload):
        return score_fill(payload.answer, payload.accepted, given.text)
    if isinstance(payload, DrillPayload):
        return score_drill(payload.document_id, payload.steps, given.document_id, given.steps)
    raise TypeError(f"No scorer for payload {type(payload).__name__}")  # pragma: no cover


# ---------------------------------------------------------------- progress and topics


def _latest(attempts: Iterable[Attempt]) -> dict[tuple[str, str], Attempt]:
    """The latest scored attempt per (trainee, item)."""
    latest: dict[tuple[str, str], Attempt] = {}
    for attempt in attempts:
        if attempt.score is None:
            continue
        key = (attempt.trainee, attempt.item_id)
        if key not in latest or (attempt.at, attempt.id) > (latest[key].at, latest[key].id):
            latest[key] = attempt
    return latest


def progress(
    path: LearningPath, attempts: Iterable[Attempt], trainees: Sequence[str] | None = None
) -> list[Progress]:
    """Each trainee's progress on `path`, from the attempts recorded on it.

    An exercise item is done once scored; a document or procedure item once marked read (an
    attempt without a score). The mean score is over the latest score of each exercise, so
    it shows what the trainee knows now. `trainees` (say, everyone assigned) are included
    even with no attempt; by default, everyone with an attempt on the path. Sorted by name.
    """
    on_path = [a for a in attempts if a.path_id == path.id]
    names = sorted(set(trainees) if trainees is not None else {a.trainee for a in on_path})
    refs = [item.ref for item in path.items]
    exercise_refs = {item.ref for item in path.items if item.kind == "exercise"}
    latest = _latest(on_path)
    result = []
    for name in names:
        mine = [a for a in on_path if a.trainee == name]
        touched = {a.item_id for a in mine}
        scored = {a.item_id for a in mine if a.score is not None}
        done = tuple(
            ref
            for ref in dict.fromkeys(refs)
            if (ref in scored if ref in exercise_refs else ref in touched)
        )
        scores = [latest[(name, ref)].score for ref in exercise_refs if (name, ref) in latest]
        numbers = [s for s in scores if s is not None]
        result.append(
            Progress(
                trainee=name,
                path_id=path.id,
                done=len(done),
                total=len(dict.fromkeys(refs)),
                mean_score=sum(numbers) / len(numbers) if numbers else None,
                attempts=len(mine),
                done_items=done,
                last_at=max((a.at for a in mine), default=None),
            )
        )
    return result


def topic_scores(attempts: Iterable[Attempt], exercises: Iterable[Exercise]) -> list[TopicScore]:
    """Mean of the latest score per (trainee, exercise), by exercise topic, worst first.

    Attempts on anything that is not one of `exercises` (read marks, unknown ids) are left
    out; pass one trainee's attempts for that trainee's topics.
    """
    topic_of = {e.id: e.topic for e in exercises}
    relevant = [a for a in attempts if a.item_id in topic_of and a.score is not None]
    latest = _latest(relevant)
    by_topic: dict[str, list[float]] = {}
    exercises_by_topic: dict[str, set[str]] = {}
    for (_, item_id), attempt in latest.items():
        topic = topic_of[item_id]
        by_topic.setdefault(topic, []).append(attempt.score or 0.0)
        exercises_by_topic.setdefault(topic, set()).add(item_id)
    counts: dict[str, int] = {}
    for attempt in relevant:
        counts[topic_of[attempt.item_id]] = counts.get(topic_of[attempt.item_id], 0) + 1
    scores = [
        TopicScore(topic, sum(values) / len(values), len(exercises_by_topic[topic]), counts[topic])
        for topic, values in by_topic.items()
    ]
    return sorted(scores, key=lambda s: (s.mean_score, s.topic.casefold()))


def weak_topics(
    attempts: Iterable[Attempt], exercises: Iterable[Exercise], threshold: float = WEAK_BELOW
) -> list[TopicScore]:
    """Topics whose mean score (see topic_scores) is below `threshold`, worst first."""
    return [s for s in topic_scores(attempts, exercises) if s.mean_score < threshold]

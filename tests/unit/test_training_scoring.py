"""Scoring answers, progress on a path, weak topics. Pure functions on hand-made records."""

from __future__ import annotations

import datetime as dt

import pytest

from kb.training.scoring import (
    normalise_value,
    progress,
    score_answer,
    score_drill,
    score_fill,
    score_order,
    topic_scores,
    weak_topics,
)
from kb.training.types import (
    Attempt,
    DrillPayload,
    Exercise,
    FillPayload,
    GivenAnswer,
    LearningPath,
    OrderPayload,
    PathItem,
)
from kb.types import Citation

STEPS = ("Greet", "Authenticate", "Cancel the card", "Order a replacement")


def citation(chunk_id: str = "lost-card:v1:4") -> Citation:
    return Citation(
        document_id=chunk_id.split(":")[0],
        title="Lost Card Procedure",
        source_name="lost-card.md",
        section="Card services > Reporting by phone",
        pages=(1,),
        version=1,
        effective_date=dt.date(2026, 3, 1),
        chunk_id=chunk_id,
    )


def exercise(exercise_id: str, topic: str, kind: str = "fill") -> Exercise:
    payload = {
        "fill": FillPayload("Express delivery costs £15.", "£15"),
        "order": OrderPayload(STEPS, tuple(reversed(STEPS))),
        "drill": DrillPayload("I lost my card", "lost-card", STEPS, 1),
    }[kind]
    return Exercise(
        id=exercise_id,
        kind=kind,
        prompt="Express delivery costs ____.",
        payload=payload,
        source=citation(),
        source_text="Express delivery costs £15.",
        topic=topic,
        status="approved",
    )


def attempt(
    n: int, item: str, score: float | None, trainee: str = "ana", path_id: int | None = 1
) -> Attempt:
    return Attempt(n, trainee, item, path_id, GivenAnswer(), score, f"2026-01-01T10:00:{n:02d}")


# ---------------------------------------------------------------- ordering


def test_order_exactly_right_scores_one():
    assert score_order(STEPS, STEPS) == 1.0


def test_order_reversed_scores_zero():
    assert score_order(STEPS, tuple(reversed(STEPS))) == 0.0


def test_order_one_neighbour_swap_loses_one_pair_of_six():
    given = ("Greet", "Cancel the card", "Authenticate", "Order a replacement")
    assert score_order(STEPS, given) == pytest.approx(5 / 6)


def test_order_missing_step_counts_against_its_pairs():
    assert score_order(STEPS, STEPS[:3]) == pytest.approx(3 / 6)


def test_order_extra_or_repeated_step_is_never_full_marks():
    assert score_order(STEPS, (*STEPS, "Invented step")) == pytest.approx(6 / 7)
    assert score_order(STEPS, (*STEPS, "Greet")) < 1.0


def test_order_with_repeated_texts_matches_occurrences_in_turn():
    correct = ("Check", "Wait", "Check")
    assert score_order(correct, correct) == 1.0
    assert score_order(correct, ("Wait", "Check", "Check")) == pytest.approx(2 / 3)


def test_order_ignores_spacing_differences():
    assert score_order(STEPS, tuple(f"  {s} " for s in STEPS)) == 1.0


def test_order_of_one_step():
    assert score_order(("Only",), ("Only",)) == 1.0
    assert score_order(("Only",), ()) == 0.0


# ---------------------------------------------------------------- fill-in


@pytest.mark.parametrize(
    "given", ["£25,000", "25000", "£25000", " 25,000 ", "２５０００", "25000.00"]
)
def test_fill_forgives_how_an_amount_is_typed(given):
    assert score_fill("£25,000", (), given) == 1.0


@pytest.mark.parametrize(
    ("answer", "given"),
    [
        ("HK$180", "180"),
        ("HK$180", "hk$ 180"),
        ("5-7", "5 to 7"),
        ("5至7", "5-7"),
        ("2.75%", "2.75"),
        ("2.50%", "2.5%"),
        ("Free", "FREE"),
        ("50,000元", "50000"),
        ("16:00", "16:00"),
    ],
)
def test_fill_equivalent_values(answer, given):
    assert score_fill(answer, (), given) == 1.0


@pytest.mark.parametrize("given", ["£2,500", "250000", "", "   ", "£25,001"])
def test_fill_wrong_or_empty_is_zero(given):
    assert score_fill("£25,000", (), given) == 0.0


def test_fill_accepted_variants():
    assert score_fill("5-7", ("5-7 working days",), "5 to 7 working days") == 1.0
    assert score_fill("5-7", (), "5 to 7 working days") == 0.0
    assert score_fill("Free", ("0",), "£0") == 1.0


def test_normalise_value_keeps_decimals_that_matter():
    assert normalise_value("£1.50") == "1.5"
    assert normalise_value("£10.05") == "10.05"
    assert normalise_value("1,000,000") == "1000000"


# ---------------------------------------------------------------- drill


def test_drill_right_document_and_all_steps():
    assert score_drill("lost-card", STEPS, "lost-card", STEPS) == 1.0


def test_drill_right_document_no_steps_is_half():
    assert score_drill("lost-card", STEPS, "lost-card", ()) == 0.5


def test_drill_wrong_document_scores_only_its_matching_steps():
    assert score_drill("lost-card", STEPS, "card-faq", ()) == 0.0
    assert score_drill("lost-card", STEPS, "card-faq", STEPS) == 0.5


def test_drill_step_recall_counts_steps_in_order():
    assert score_drill("lost-card", STEPS, "lost-card", STEPS[:2]) == pytest.approx(0.75)
    swapped = (STEPS[1], STEPS[0], STEPS[2], STEPS[3])
    assert score_drill("lost-card", STEPS, "lost-card", swapped) == pytest.approx(0.5 + 0.5 * 3 / 4)


def test_drill_without_gold_steps_is_about_the_document():
    assert score_drill("card-faq", (), "card-faq", ()) == 1.0
    assert score_drill("card-faq", (), "lost-card", ("Anything",)) == 0.0


def test_score_answer_uses_the_scorer_of_the_kind():
    assert score_answer(exercise("f", "Cards"), GivenAnswer(text="15")) == 1.0
    assert score_answer(exercise("o", "Cards", "order"), GivenAnswer(steps=STEPS)) == 1.0
    drill = exercise("d", "Cards", "drill")
    assert score_answer(drill, GivenAnswer(document_id="lost-card", steps=STEPS[:2])) == 0.75


# ---------------------------------------------------------------- progress


PATH = LearningPath(
    id=1,
    name="Cards week 1",
    items=(
        PathItem("document", "lost-card", "Lost Card Procedure"),
        PathItem("exercise", "fill:a", "Express fee"),
        PathItem("exercise", "order:b", "Phone steps"),
    ),
    created_by="trainer",
    created_at="2026-01-01T09:00:00",
)


def test_progress_counts_done_items_and_latest_scores():
    attempts = [
        attempt(1, "lost-card", None),  # marked read
        attempt(2, "fill:a", 0.0),
        attempt(3, "fill:a", 1.0),  # retried: the latest score counts
        attempt(4, "order:b", 0.5, trainee="ben"),
        attempt(5, "order:b", 1.0, path_id=2),  # another path: ignored
    ]
    ana, ben, cleo = progress(PATH, attempts, trainees=["cleo", "ana", "ben"])
    assert (ana.trainee, ana.done, ana.total, ana.attempts) == ("ana", 2, 3, 3)
    assert ana.done_items == ("lost-card", "fill:a")
    assert ana.mean_score == 1.0
    assert ana.completion == pytest.approx(2 / 3)
    assert ana.last_at == "2026-01-01T10:00:03"
    assert (ben.done, ben.mean_score) == (1, 0.5)
    assert (cleo.done, cleo.mean_score, cleo.attempts, cleo.completion) == (0, None, 0, 0.0)


def test_progress_defaults_to_everyone_with_an_attempt():
    assert [p.trainee for p in progress(PATH, [attempt(1, "fill:a", 1.0, "zoe")])] == ["zoe"]


def test_a_scoreless_attempt_does_not_complete_an_exercise():
    [ana] = progress(PATH, [attempt(1, "fill:a", None)])
    assert ana.done == 0


# ---------------------------------------------------------------- topics


def test_weak_topics_below_threshold_worst_first():
    exercises = [
        exercise("f1", "Card services"),
        exercise("f2", "Card services"),
        exercise("f3", "Payments"),
        exercise("f4", "Complaints"),
    ]
    attempts = [
        attempt(1, "f1", 0.0),
        attempt(2, "f1", 1.0),  # improved: latest counts
        attempt(3, "f2", 0.2),
        attempt(4, "f3", 0.0),
        attempt(5, "f4", 0.9),
        attempt(6, "lost-card", None),  # a read mark: not a topic score
    ]
    weak = weak_topics(attempts, exercises)
    assert [(w.topic, w.mean_score) for w in weak] == [("Payments", 0.0), ("Card services", 0.6)]
    cards = weak[1]
    assert (cards.exercises, cards.attempts) == (2, 3)
    assert [s.topic for s in topic_scores(attempts, exercises)] == [
        "Payments",
        "Card services",
        "Complaints",
    ]


def test_weak_topics_threshold_is_strict_and_adjustable():
    exercises = [exercise("f1", "Cards")]
    attempts = [attempt(1, "f1", 0.7)]
    assert weak_topics(attempts, exercises) == []
    assert [w.topic for w in weak_topics(attempts, exercises, threshold=0.8)] == ["Cards"]


def test_each_trainee_counts_separately_in_topic_scores():
    exercises = [exercise("f1", "Cards")]
    attempts = [attempt(1, "f1", 1.0, "ana"), attempt(2, "f1", 0.0, "ben")]
    [cards] = topic_scores(attempts, exercises)
    assert cards.mean_score == 0.5

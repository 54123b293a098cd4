"""The live-assist metrics (eval/live.py): top-3 hit, topics, turns to first, churn."""

from __future__ import annotations

from eval.live import (
    TurnOutcome,
    summarise_outcomes,
    top_changes,
    top_k_hit,
    topic_segments,
    turns_to_first,
)

CARD = frozenset({"lost-card.docx", "zh-lost-card.pdf"})
COMPLAINT = frozenset({"complaints.pdf"})


def turn(number: int, gold: frozenset[str], *shown: str, dialogue: str = "call") -> TurnOutcome:
    return TurnOutcome(dialogue, number, gold, tuple(shown))


def test_top_k_hit_counts_only_the_first_k_and_any_gold_document():
    assert top_k_hit(("a", "b", "zh-lost-card.pdf"), CARD)
    assert not top_k_hit(("a", "b", "c", "lost-card.docx"), CARD)
    assert top_k_hit(("lost-card.docx",), CARD, k=1)
    assert not top_k_hit((), CARD)
    assert not top_k_hit(("lost-card.docx",), frozenset())  # unlabelled: never a hit


def test_topic_segments_split_on_gold_change_dialogue_and_unlabelled_turns():
    outcomes = [
        turn(1, CARD, "x"),
        turn(2, CARD, "x"),
        turn(3, COMPLAINT, "x"),
        turn(4, frozenset(), "x"),
        turn(5, COMPLAINT, "x"),
        turn(1, COMPLAINT, "x", dialogue="other"),
    ]
    segments = topic_segments(outcomes)
    assert [[(o.dialogue, o.turn) for o in s] for s in segments] == [
        [("call", 1), ("call", 2)],
        [("call", 3)],
        [("call", 5)],
        [("other", 1)],
    ]


def test_turns_to_first_is_one_based_and_none_when_never_shown():
    segment = [
        turn(1, CARD, "a", "b", "c"),
        turn(2, CARD, "a", "b", "c", "lost-card.docx"),  # 4th: not in the top 3
        turn(3, CARD, "a", "lost-card.docx"),
        turn(4, CARD, "lost-card.docx"),
    ]
    assert turns_to_first(segment) == 3
    assert turns_to_first(segment[3:]) == 1
    assert turns_to_first(segment[:2]) is None


def test_top_changes_counts_changes_of_the_first_suggestion_only():
    segment = [
        turn(1, CARD),  # empty screen
        turn(2, CARD, "a", "b"),  # appears: a change
        turn(3, CARD, "a", "c"),  # second changed, top did not
        turn(4, CARD, "b", "a"),  # top changed
    ]
    assert top_changes(segment) == (2, 3)
    assert top_changes(segment[:1]) == (0, 0)


def test_summary_over_two_topics():
    outcomes = [
        turn(1, CARD, "lost-card.docx"),
        turn(2, CARD, "lost-card.docx"),
        turn(3, COMPLAINT, "lost-card.docx"),  # topic changed, screen did not follow
        turn(4, COMPLAINT, "lost-card.docx", "complaints.pdf"),
        turn(5, frozenset(), "other"),
    ]
    summary = summarise_outcomes(outcomes)
    assert summary["turns"] == 4
    assert summary["top3_hits"] == 3
    assert summary["top3_accuracy"] == 0.75
    assert summary["topics"] == 2
    assert summary["turns_to_first_mean"] == 1.5  # 1 for the card, 2 for the complaint
    assert summary["turns_to_first_median"] == 1.5
    assert summary["never"] == 0 and summary["never_share"] == 0.0
    assert (summary["churn_changed"], summary["churn_pairs"]) == (0, 2)
    assert summary["churn"] == 0.0


def test_summary_with_a_topic_never_found_and_churn():
    outcomes = [turn(1, CARD, "a"), turn(2, CARD, "b"), turn(3, CARD, "a")]
    summary = summarise_outcomes(outcomes)
    assert summary["top3_accuracy"] == 0.0
    assert summary["never_share"] == 1.0
    assert summary["turns_to_first_mean"] is None
    assert summary["churn"] == 1.0


def test_summary_of_nothing_labelled():
    summary = summarise_outcomes([turn(1, frozenset(), "a")])
    assert summary["top3_accuracy"] is None and summary["topics"] == 0 and summary["churn"] is None

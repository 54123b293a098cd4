"""Pure parts of live call assist: the question, why, hysteresis, the summary, rate limits."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from api.ratelimit import RateLimiter, TokenBucket
from api.simulate import changes
from kb.calls.assist import (
    apply_feedback,
    call_query,
    matched_words,
    stabilise,
    suggestions_from_answer,
    summarise,
)
from kb.calls.records import (
    CallAlert,
    CallFeedback,
    CallRecord,
    CallStatus,
    CallTurnRecord,
    Speaker,
    Suggestion,
    Verdict,
)
from kb.tokens import acting_groups
from kb.types import (
    Answer,
    AnswerStatus,
    ChunkKind,
    Citation,
    Highlighted,
    Passage,
    Step,
)

NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


def turn(index: int, speaker: str, text: str) -> CallTurnRecord:
    return CallTurnRecord(index, Speaker(speaker), text, NOW + dt.timedelta(seconds=index))


def suggestion(sid: str, strength: float, pinned: bool = False) -> Suggestion:
    return Suggestion(
        id=sid, kind="article", document_id=sid, title=sid.title(), steps=(), passages=(),
        citations=(), why=(), why_turns=(), strength=strength, since_turn=1, pinned=pinned,
    )  # fmt: skip


def citation(document_id: str, chunk: int = 0) -> Citation:
    return Citation(
        document_id, document_id.replace("-", " ").title(), f"{document_id}.docx", "Section",
        (), 1, None, f"{document_id}:v1:{chunk}",
    )  # fmt: skip


# ---------------------------------------------------------------------- the question


def test_call_query_takes_the_latest_substantive_customer_turn_and_the_rest_as_history():
    turns = [
        turn(0, "agent", "Thank you for calling, how can I help?"),
        turn(1, "customer", "My debit card was stolen in Spain this morning"),
        turn(2, "agent", "I'm cancelling it now"),
        turn(3, "customer", "Can I still get emergency cash?"),
        turn(4, "customer", "ok"),
    ]
    query = call_query(turns, ("everyone", "fraud-team"), k=5)
    assert query is not None
    assert query.text == "Can I still get emergency cash?"
    assert [(t.role, t.text) for t in query.history] == [
        ("assistant", "Thank you for calling, how can I help?"),
        ("user", "My debit card was stolen in Spain this morning"),
        ("assistant", "I'm cancelling it now"),
        ("user", "ok"),
    ]
    assert query.groups == ("everyone", "fraud-team") and query.k == 5
    assert call_query([turn(0, "agent", "Hello")]) is None


def test_why_holds_the_customers_words_found_in_the_suggestion():
    turns = [
        turn(0, "agent", "Thank you for calling"),
        turn(1, "customer", "My cards were stolen abroad, card ending 4821"),
        turn(2, "customer", "我的信用卡在国外被盗了"),
    ]
    words, where = matched_words(
        turns, "Call us when a card is stolen abroad. 信用卡被盗时请立即挂失。"
    )
    assert "cards" in words and "stolen" in words and "abroad" in words
    assert "calling" not in words  # the agent's words explain nothing
    assert "4821" not in " ".join(words)
    assert "信用卡" in words and "信用" not in words and "被盗" in words
    assert where == (1, 2)


def test_why_crosses_languages_through_the_glossary():
    from kb.glossary import default_glossary

    turns = [turn(0, "customer", "我的信用卡被偷了")]
    english = "Report a stolen credit card at once"
    assert matched_words(turns, english) == ((), ())
    words, where = matched_words(turns, english, equivalents=default_glossary().equivalents)
    assert "信用卡" in words and where == (0,)


# ---------------------------------------------------------------------- suggestions


def test_answer_becomes_one_suggestion_per_document_procedure_first():
    lost, travel = citation("lost-card", 4), citation("travel", 2)
    answer = Answer(
        question="stolen card abroad",
        resolved_question="stolen card abroad",
        status=AnswerStatus.ANSWERED,
        confidence=0.8,
        steps=(
            Step("Cancel the card", "1", 1, "step", lost),
            Step("Offer an emergency card", "2", 1, "step", lost),
        ),
        passages=(
            Passage(Highlighted("Cards stolen abroad: call us"), travel, 0.04, ChunkKind.TEXT),
            Passage(Highlighted("Cancel a stolen card"), lost, 0.03, ChunkKind.PROCEDURE),
        ),
    )
    found = suggestions_from_answer(answer, [turn(0, "customer", "my card was stolen abroad")])
    assert [(s.id, s.kind) for s in found] == [("lost-card", "procedure"), ("travel", "article")]
    assert [s.text for s in found[0].steps] == ["Cancel the card", "Offer an emergency card"]
    assert found[0].strength == pytest.approx(0.8 * 0.03 / 0.04)
    assert found[1].strength == pytest.approx(0.8 / 1.25)  # second in the answer's order
    assert "stolen" in found[0].why and found[0].why_turns == (0,)


def test_documents_beyond_the_first_need_some_of_the_customers_words():
    answer = Answer(
        question="q", resolved_question="q", status=AnswerStatus.ANSWERED, confidence=0.7,
        passages=(
            Passage(Highlighted("Reporting a stolen card"), citation("lost-card"), 0.04, ChunkKind.TEXT),
            Passage(Highlighted("Mortgage payment holidays"), citation("mortgage"), 0.039, ChunkKind.TEXT),
            Passage(Highlighted("Card stolen while travelling"), citation("travel"), 0.038, ChunkKind.TEXT),
        ),
    )  # fmt: skip
    found = suggestions_from_answer(answer, [turn(0, "customer", "my card was stolen")])
    assert [s.id for s in found] == ["lost-card", "travel"]


def test_not_covered_suggests_the_closest_articles_without_steps():
    answer = Answer(
        question="q", resolved_question="q", status=AnswerStatus.NOT_COVERED, confidence=0.2,
        related=(citation("card-fees"), citation("travel")),
    )  # fmt: skip
    found = suggestions_from_answer(answer, [turn(0, "customer", "card fees when I travel")])
    assert [s.id for s in found] == ["card-fees", "travel"] and not found[0].steps
    assert found[0].strength > found[1].strength


# ---------------------------------------------------------------------- hysteresis


def test_a_slightly_better_newcomer_does_not_replace_what_is_on_screen():
    shown = (suggestion("a", 0.8), suggestion("b", 0.6), suggestion("c", 0.5))
    latest = (suggestion("d", 0.55), suggestion("a", 0.8), suggestion("b", 0.6))
    assert [s.id for s in stabilise(shown, latest)] == ["a", "b", "c"]


def test_a_clearly_better_newcomer_replaces_the_weakest_and_moves_up():
    shown = (suggestion("a", 0.5), suggestion("b", 0.45), suggestion("c", 0.4))
    latest = (suggestion("d", 0.95), suggestion("a", 0.5), suggestion("b", 0.45))
    result = stabilise(shown, latest)
    assert [s.id for s in result] == ["d", "a", "b"]  # c (absent, decayed) gave way


def test_a_weak_newcomer_leaves_a_free_slot_empty():
    shown = (suggestion("a", 0.8),)
    assert [s.id for s in stabilise(shown, (suggestion("a", 0.8), suggestion("b", 0.3)))] == ["a"]
    assert [s.id for s in stabilise(shown, (suggestion("a", 0.8), suggestion("b", 0.5)))] == [
        "a",
        "b",
    ]


def test_order_changes_only_when_clearly_stronger():
    shown = (suggestion("a", 0.6), suggestion("b", 0.5))
    assert [s.id for s in stabilise(shown, (suggestion("b", 0.65), suggestion("a", 0.6)))] == [
        "a",
        "b",
    ]
    assert [s.id for s in stabilise(shown, (suggestion("b", 0.9), suggestion("a", 0.6)))] == [
        "b",
        "a",
    ]


def test_absent_suggestions_decay_until_something_clearly_better_takes_the_slot():
    shown = (suggestion("a", 0.6), suggestion("b", 0.6), suggestion("c", 0.6))
    latest = (suggestion("d", 0.65),)
    rounds = []
    for _ in range(4):
        shown = stabilise(shown, latest)
        rounds.append([s.id for s in shown])
    assert rounds[0] == ["a", "b", "c"]  # 0.65 is not clearly better than 0.6
    assert "d" in rounds[-1]


def test_pinned_suggestions_stay_and_dismissed_ones_never_return():
    shown = apply_feedback(
        (suggestion("a", 0.3), suggestion("b", 0.3), suggestion("c", 0.3)), "a", Verdict.USED
    )
    assert shown[0].pinned
    shown = apply_feedback(shown, "b", Verdict.DISMISSED)
    assert [s.id for s in shown] == ["a", "c"]
    latest = (suggestion("b", 0.99), suggestion("x", 0.98), suggestion("y", 0.97))
    result = stabilise(shown, latest, dismissed={"b"})
    assert result[0].id == "a" and result[0].pinned
    assert "b" not in [s.id for s in result]
    assert {s.id for s in result} == {"a", "x", "y"}


def test_refreshed_suggestion_keeps_when_it_was_first_shown():
    shown = (replace(suggestion("a", 0.5), since_turn=2),)
    refreshed = stabilise(shown, (replace(suggestion("a", 0.7), since_turn=9, why=("card",)),))
    assert refreshed[0].since_turn == 2 and refreshed[0].why == ("card",)


# ---------------------------------------------------------------------- summary


def test_summary_is_masked_and_lists_topics_documents_and_alerts():
    call = CallRecord("call_1", "api:stt", None, ("everyone",), None, CallStatus.OPEN, NOW)
    turns = [
        turn(0, "agent", "How can I help?"),
        turn(1, "customer", "My card 4539 1488 0343 6467 was stolen, call me on 07700 900123"),
    ]
    alert = CallAlert(
        "fraud_scam.report", "fraud", "high", "Escalate", None, 1, "customer",
        "card 4539 1488 0343 6467 stolen", "4539 1488 0343 6467", "phrase", 1,
    )  # fmt: skip
    feedback = [
        CallFeedback("call_1", "lost-card", "lost-card", Verdict.USED, NOW, "api:stt"),
        CallFeedback("call_1", "travel", "travel", Verdict.DISMISSED, NOW, "api:stt"),
    ]
    summary = summarise(
        call, turns, [("lost-card", "Lost Card"), ("travel", "Travel")], feedback, [alert],
        NOW + dt.timedelta(minutes=3),
    )  # fmt: skip
    assert "4539" not in summary.opening and "[card ****6467]" in summary.opening
    assert "07700" not in summary.opening
    assert summary.topics == ("Lost Card", "Travel") and summary.turns == 2
    assert summary.documents_used == ("lost-card",)
    assert summary.documents_dismissed == ("travel",)
    assert "4539" not in summary.alerts[0].turn_text and "4539" not in summary.alerts[0].matched


# ---------------------------------------------------------------------- accounts, limits


def test_acting_for_an_agent_applies_only_the_groups_both_have():
    assert acting_groups(("everyone", "fraud-team", "complaints-team"), ("everyone",)) == (
        "everyone",
    )
    assert acting_groups(("everyone", "fraud-team"), ("everyone", "fraud-team")) == (
        "everyone",
        "fraud-team",
    )
    assert acting_groups(("everyone",), ("everyone", "fraud-team")) == ("everyone",)


def test_token_bucket_allows_a_burst_then_refills_at_the_rate():
    now = [0.0]
    bucket = TokenBucket(60, capacity=2, clock=lambda: now[0])
    assert bucket.take() == 0.0 and bucket.take() == 0.0
    wait = bucket.take()
    assert wait == pytest.approx(1.0)  # one request per second
    now[0] += 0.5
    assert bucket.take() == pytest.approx(0.5)
    now[0] += 0.5
    assert bucket.take() == 0.0
    with pytest.raises(ValueError, match="rate_per_minute"):
        TokenBucket(0)


def test_rate_limiter_keeps_a_bucket_per_account():
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    assert limiter.wait("a") == 0.0  # never seen
    assert [limiter.take("a", 2) for _ in range(3)][-1] > 0
    assert limiter.wait("a") == pytest.approx(30.0)  # looking counts nothing
    assert limiter.wait("a") == pytest.approx(30.0)
    assert limiter.take("b", 2) == 0.0


# ---------------------------------------------------------------------- the simulator's view


def test_simulator_prints_what_changed_on_screen():
    first = {"suggestions": [{"id": "a", "title": "A", "steps": [], "why": ["card"]}], "alerts": []}
    second = {
        "suggestions": [
            {"id": "b", "title": "B", "steps": [{"number": "1", "text": "Do"}], "why": []}
        ],
        "alerts": [
            {
                "rule_id": "r",
                "turn_index": 2,
                "severity": "high",
                "matched": "scam",
                "action": "Act",
            }
        ],
    }
    assert changes(None, first) == ["  + A (article); why: card"]
    lines = changes(first, second)
    assert "  + B (1 steps); why: -" in lines and "      1. Do" in lines and "  - A" in lines
    assert any(line.startswith("  ! HIGH r (turn 2") for line in lines)
    assert changes(second, second) == []


def test_vector_cache_embeds_each_text_once_and_forgets_the_least_recently_used():
    import numpy as np

    from kb.retrieve import VectorCache

    calls: list[list[str]] = []

    def embed(texts):
        calls.append(list(texts))
        return np.array([[float(len(t))] for t in texts], dtype=np.float32)

    cache = VectorCache(size=2)
    first = cache.get_many(["a", "bb", "a"], embed)
    assert [float(v[0]) for v in first] == [1.0, 2.0, 1.0]
    assert calls == [["a", "bb"]]  # one batch, each text once
    cache.get_many(["a"], embed)  # "a" is now the most recent
    cache.get_many(["ccc"], embed)  # over the size: "bb" goes
    cache.get_many(["a", "bb"], embed)
    assert calls[-1] == ["bb"]

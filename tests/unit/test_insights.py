"""Insights core: the question log masks before storing; gaps, topics, health and trends are
counted right. Topic clustering is checked with hand-made vectors whose answer is known."""

from __future__ import annotations

import csv
import datetime as dt
import io
import sqlite3

import numpy as np
import pytest

from kb.answer import LOW_CONFIDENCE
from kb.feedback import Feedback
from kb.insights import (
    GapQuestion,
    GapReason,
    cluster_gaps,
    document_health,
    failing_questions,
    gaps_csv,
    least_used,
    most_used,
    question_vectors,
    trends,
)
from kb.querylog import LoggedQuestion, QueryLog, documents_shown, shows_low_confidence
from kb.types import (
    Answer,
    AnswerStatus,
    Category,
    ChunkKind,
    Citation,
    DocumentRecord,
    Highlighted,
    Passage,
)

CARD = "4111 1111 1111 1111"  # Luhn-valid test number
CN_ID = "11010519491231002X"  # GB 11643's worked example, check character right
DAY = dt.date(2026, 11, 2)


def at(day: int, hour: int, minute: int = 0) -> str:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.UTC).isoformat(timespec="seconds")


def citation(document_id: str) -> Citation:
    return Citation(
        document_id,
        document_id.title(),
        f"{document_id}.md",
        "S",
        (1,),
        1,
        None,
        f"{document_id}:v1:0",
    )


def passage(document_id: str) -> Passage:
    return Passage(Highlighted("text"), citation(document_id), 1.0, ChunkKind.TEXT)


def logged(
    id_, when, question, status="answered", low=False, documents=(), user="agent1", resolved=None
):
    return LoggedQuestion(
        id_, when, user, question, resolved or question, status, 0.5, low, documents, "en"
    )


def verdict(id_, when, question, helpful, user="agent1", status="answered", reason="", docs=()):
    return Feedback(id_, when, user, question, helpful, reason, docs, status, 0.5)


def gap(question, when=None, reasons=(GapReason.REFUSED,), documents=(), id_=None):
    return GapQuestion(
        when or at(2, 9), "agent1", question, question, reasons, 0.2, documents, "en", id_
    )


def unit(*rows):
    matrix = np.asarray(rows, dtype=np.float64)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


# ------------------------------------------------------------------ question log


def test_question_log_masks_card_and_chinese_id_before_storing(tmp_path):
    log = QueryLog(tmp_path / "questions.sqlite")
    answer = Answer(
        question=f"客户的卡{CARD}被吞了，身份证{CN_ID}",
        resolved_question=f"ATM kept card {CARD} of {CN_ID}",
        status=AnswerStatus.ANSWERED,
        confidence=0.61,
        passages=(passage("atm"), passage("cards"), passage("atm")),
    )
    stored = log.record("agent1", answer, low_confidence=True)
    log.close()

    raw = sqlite3.connect(tmp_path / "questions.sqlite").execute("SELECT * FROM questions")
    row = " ".join(str(cell) for cell in raw.fetchone())
    assert CARD not in row and CARD.replace(" ", "") not in row and CN_ID not in row
    assert "[card ****1111]" in row and "[ID ****002X]" in row
    assert stored.question == "客户的卡[card ****1111]被吞了，身份证[ID ****002X]"
    assert stored.resolved_question == "ATM kept card [card ****1111] of [ID ****002X]"
    assert stored.documents == ("atm", "cards")  # in the order shown, once each
    assert stored.low_confidence and stored.language == "zh"  # from the text as typed


def test_question_log_reads_back_by_day_and_keeps_low_confidence_for_answers_only(
    backend_settings,
):
    log = QueryLog(backend_settings.questions_path)  # a SQLite file, then a PostgreSQL schema
    refused = Answer(
        "bitcoin?", "bitcoin?", AnswerStatus.NOT_COVERED, 0.1, related=(citation("cards"),)
    )
    answered = Answer("overdraft fee?", "overdraft fee?", AnswerStatus.ANSWERED, 0.9)
    log.record("agent1", refused, True, at=dt.datetime(2026, 11, 1, 23, 59, tzinfo=dt.UTC))
    log.record("agent2", answered, False, at=dt.datetime(2026, 11, 3, 8, tzinfo=dt.UTC))
    log.record("agent1", answered, False, at=dt.datetime(2026, 11, 2, 8, tzinfo=dt.UTC))
    with pytest.raises(ValueError, match="timezone-aware"):
        log.record("agent1", answered, False, at=dt.datetime(2026, 11, 2, 8))

    everything = log.all()
    assert [q.at for q in everything] == sorted(q.at for q in everything)
    first = everything[0]
    assert (first.status, first.low_confidence, first.documents) == (
        "not_covered",
        False,
        ("cards",),
    )
    assert [q.user for q in log.all(since=DAY, until=DAY)] == ["agent1"]
    assert len(log.all(since=DAY)) == 2 and len(log.all(until=DAY)) == 2
    again = log.record("agent3", answered, False, at=dt.datetime(2026, 11, 2, 8, tzinfo=dt.UTC))
    assert again.id == max(q.id for q in everything) + 1 and again in log.all()
    log.close()


def test_feedback_is_masked_numbered_and_read_back_in_order(backend_settings):
    from kb.feedback import FeedbackStore

    store = FeedbackStore(backend_settings.feedback_path)  # SQLite, then PostgreSQL
    try:
        first = store.add(
            "agent1", f"card {CARD} swallowed", False, "wrong fee", ("atm", "fees"), "answered", 0.4
        )
        second = store.add("agent2", "overdraft?", True, "", (), "not_covered", 0.1)
        assert first.question == "card [card ****1111] swallowed" and second.id == first.id + 1
        assert store.all() == [first, second]
        assert (first.user, first.helpful, first.documents) == ("agent1", False, ("atm", "fees"))
    finally:
        store.close()


def test_low_confidence_is_read_from_the_answer_notice():
    shown = Answer("q", "q", AnswerStatus.ANSWERED, 0.5, notices=(LOW_CONFIDENCE,))
    assert shows_low_confidence(shown)
    assert not shows_low_confidence(Answer("q", "q", AnswerStatus.ANSWERED, 0.9))
    refused = Answer("q", "q", AnswerStatus.NOT_COVERED, 0.1, notices=(LOW_CONFIDENCE,))
    assert not shows_low_confidence(refused)
    assert documents_shown(refused) == ()


# ------------------------------------------------------------- failing questions


def test_failing_questions_with_their_reasons():
    questions = [
        logged(1, at(2, 9), "How do I buy bitcoin?", status="not_covered"),
        logged(2, at(2, 9, 5), "Mortgage holiday?", low=True, documents=("mortgage",)),
        logged(3, at(2, 9, 10), "Lost card abroad", documents=("cards",)),
        logged(4, at(2, 15), "Lost card abroad", documents=("cards",)),
        logged(5, at(2, 9, 10), "Lost card abroad", user="agent2"),
        logged(6, at(2, 10), "Overdraft fee?"),
        logged(
            7,
            at(2, 10, 1),
            "and for business?",
            "not_covered",
            resolved="Overdraft fee? and for business?",
        ),
    ]
    feedback = [
        verdict(1, at(2, 9, 11), "lost card ABROAD", False, reason="no fee info"),  # -> 3
        verdict(2, at(2, 15, 2), "Lost card abroad", False),  # nearest is 4, not 3
        verdict(3, at(2, 9, 1), "How do I buy bitcoin?", True),  # helpful: not a gap
        verdict(4, at(2, 9, 2), "How do I buy bitcoin?", False, reason="escalated"),
        verdict(5, at(3, 11), "Is there a fee for CHAPS?", False, user="agent3", docs=("fees",)),
        verdict(6, at(5, 9), "How do I buy bitcoin?", False, status="not_covered"),  # too late
        verdict(7, at(2, 10, 1), "Overdraft fee?", True),
    ]
    gaps = failing_questions(questions, feedback)

    by_id = {g.logged_id: g for g in gaps}
    assert set(by_id) == {1, 2, 3, 4, 7, None}  # 5 and 6 did not fail
    assert by_id[7].question == "and for business?"
    assert by_id[7].resolved_question == "Overdraft fee? and for business?"
    assert by_id[1].reasons == (GapReason.REFUSED, GapReason.NOT_HELPFUL)
    assert by_id[1].feedback_ids == (4,) and by_id[1].feedback_reason == "escalated"
    assert by_id[2].reasons == (GapReason.LOW_CONFIDENCE,)
    assert by_id[3].reasons == (GapReason.NOT_HELPFUL,) and by_id[3].feedback_ids == (1,)
    assert by_id[4].feedback_ids == (2,) and by_id[3].documents == ("cards",)
    alone = [g for g in gaps if g.logged_id is None]
    assert [(g.feedback_ids, g.reasons) for g in alone] == [
        ((5,), (GapReason.NOT_HELPFUL,)),
        ((6,), (GapReason.REFUSED, GapReason.NOT_HELPFUL)),
    ]
    assert alone[0].documents == ("fees",)
    assert [g.at for g in gaps] == sorted(g.at for g in gaps)


# ---------------------------------------------------------------------- topics


def test_clustering_groups_hand_made_topics_largest_first():
    questions = [
        gap("mortgage holiday for three months", at(2, 9), documents=("mortgage",)),
        gap("Mortgage  holiday for three months", at(3, 9), documents=("mortgage",)),
        gap("pause my mortgage payments", at(3, 10), (GapReason.LOW_CONFIDENCE,), ("loans",)),
        gap("exchange euros at a branch", at(2, 11)),
        gap("buy bitcoin with my card", at(4, 9), (GapReason.NOT_HELPFUL,)),
        gap("foreign currency exchange rate", at(4, 12), documents=("fx",)),
        gap("change my name after marriage", at(5, 9)),
    ]
    vectors = unit(
        [1, 0.1, 0, 0, 0],
        [1, 0.1, 0, 0, 0],
        [1, 0, 0.15, 0, 0],
        [0, 1, 0, 0.1, 0],
        [0, 0, 1, 0, 0.1],
        [0, 1, 0, 0, 0.1],
        [0.1, 0, 0, 0, 1],
    )
    topics = cluster_gaps(questions, vectors, threshold=0.5)

    assert [sorted(q.question for q in t.questions) for t in topics] == [
        [
            "Mortgage  holiday for three months",
            "mortgage holiday for three months",
            "pause my mortgage payments",
        ],
        ["exchange euros at a branch", "foreign currency exchange rate"],
        ["change my name after marriage"],
        ["buy bitcoin with my card"],
    ]
    mortgage = topics[0]
    assert mortgage.count == 3 and mortgage.keywords[0] == "mortgage"
    assert mortgage.examples == ("mortgage holiday for three months", "pause my mortgage payments")
    assert mortgage.per_day == {DAY: 1, DAY + dt.timedelta(days=1): 2}
    assert (mortgage.first_seen, mortgage.last_seen) == (at(2, 9), at(3, 10))
    assert mortgage.reasons == {
        GapReason.REFUSED: 2,
        GapReason.LOW_CONFIDENCE: 1,
        GapReason.NOT_HELPFUL: 0,
    }
    assert mortgage.documents == ("mortgage", "loans")
    assert topics[1].keywords[0] == "exchange"
    # Equal counts: the topic seen last comes first.
    assert topics[2].last_seen > topics[3].last_seen


ZH, EN, MORTGAGE, FX = 6, 7, 0, 1


def e5_like(language: int, topic: int) -> np.ndarray:
    """Like e5: every Chinese question shares a strong "Chinese" direction (axis 6), every
    English one an "English" direction (axis 7); the topic is a smaller part."""
    vector = np.zeros(8)
    vector[language], vector[topic] = 3.0, 1.0
    return vector


REFERENCE = {
    "zh": unit(*[e5_like(ZH, axis) for axis in (2, 3, 4, 5)]),
    "en": unit(*[e5_like(EN, axis) for axis in (2, 3, 4, 5)]),
}


def test_language_centring_separates_chinese_topics_and_joins_languages():
    questions = [
        gap("房贷还款假期"),
        gap("外币兑换汇率"),
        gap("mortgage payment holiday"),
        gap("foreign exchange rate"),
    ]
    vectors = unit(e5_like(ZH, MORTGAGE), e5_like(ZH, FX), e5_like(EN, MORTGAGE), e5_like(EN, FX))
    assert vectors[0] @ vectors[1] > 0.85  # same language, different topics
    assert vectors[0] @ vectors[2] < 0.15  # same topic, different languages

    topics = cluster_gaps(questions, vectors, reference=REFERENCE)
    assert sorted(sorted(q.question for q in t.questions) for t in topics) == [
        ["foreign exchange rate", "外币兑换汇率"],
        ["mortgage payment holiday", "房贷还款假期"],
    ]


def test_a_topic_asked_in_both_languages_is_labelled_in_both():
    texts = [
        "foreign exchange rate",
        "foreign exchange rate today",
        "foreign exchange rate now",
        "外币兑换",
        "外币兑换手续费",
    ]
    vectors = unit(*[e5_like(ZH if "外" in t else EN, FX) + n / 50 for n, t in enumerate(texts)])
    topics = cluster_gaps([gap(t) for t in texts], vectors, threshold=-1.0)
    assert len(topics) == 1
    # "exchange", "foreign" and "rate" are in all three English questions, but the last
    # place goes to a word two Chinese questions share.
    assert topics[0].keywords[:2] == ("exchange", "foreign")
    assert topics[0].keywords[2] in {"外币", "兑换"}


def test_a_lone_language_question_needs_the_reference_to_join_its_topic():
    questions = [
        gap("房贷还款假期"),
        gap("mortgage payment holiday"),
        gap("mortgage holiday"),
        gap("foreign exchange rate"),
        gap("currency exchange"),
    ]
    vectors = unit(
        e5_like(ZH, MORTGAGE),
        e5_like(EN, MORTGAGE),
        e5_like(EN, MORTGAGE) + 0.1,
        e5_like(EN, FX),
        e5_like(EN, FX) + 0.1,
    )
    alone = cluster_gaps(questions, vectors)
    assert ["房贷还款假期"] in [[q.question for q in t.questions] for t in alone]
    joined = cluster_gaps(questions, vectors, reference=REFERENCE)
    assert len(joined) == 2 and joined[0].count == 3 and "房贷还款假期" in joined[0].examples


def test_clustering_checks_its_arguments_and_is_deterministic():
    questions = [gap(f"question {n}") for n in range(6)]
    rng = np.random.default_rng(7)
    vectors = unit(*rng.normal(size=(6, 4)))
    with pytest.raises(ValueError, match="one row per question"):
        cluster_gaps(questions, vectors[:5])
    with pytest.raises(ValueError, match=r"Currently, threshold is 1\.5"):
        cluster_gaps(questions, vectors, threshold=1.5)
    assert cluster_gaps([], np.zeros((0, 4))) == []
    first = cluster_gaps(questions, vectors, threshold=0.1)
    assert first == cluster_gaps(questions, vectors.copy(), threshold=0.1)


def test_labels_skip_masked_numbers_and_examples_are_capped():
    extra = ["again", "online", "abroad", "declined", "blocked", "failed", "refused"]
    questions = [gap(f"bitcoin purchase with [card ****1111] {word} 4111") for word in extra]
    topics = cluster_gaps(questions, unit(*[[1, n / 100] for n in range(7)]), threshold=-1.0)
    assert len(topics) == 1
    assert set(topics[0].keywords[:2]) == {"bitcoin", "purchase"}  # in every question
    assert "1111" not in topics[0].label and "card" not in topics[0].keywords
    assert len(topics[0].examples) == 5 and topics[0].count == 7


def test_question_vectors_embed_each_distinct_text_once():
    calls = []

    def embed(text: str) -> np.ndarray:
        calls.append(text)
        return np.array([len(text), 1.0])

    follow_up = GapQuestion(
        at(2, 9), "agent1", "and c?", "a b and c?", (GapReason.REFUSED,), 0.2, (), "en"
    )
    matrix = question_vectors([gap("a b"), gap("c"), gap("a b"), follow_up], embed)
    assert calls == ["a b", "c", "a b and c?"] and matrix.shape == (4, 2)
    assert (matrix[0] == matrix[2]).all()


def test_gaps_csv_round_trip():
    questions = [
        gap('card "swallowed", then\nkept', at(2, 9), documents=("atm", "cards")),
        gap("外币兑换，汇率多少？", at(2, 10), (GapReason.LOW_CONFIDENCE, GapReason.NOT_HELPFUL)),
        gap('=HYPERLINK("http://x")', at(2, 11)),
    ]
    topics = cluster_gaps(questions, unit([1, 0], [1, 0.01], [0, 1]), threshold=0.5)
    rows = list(csv.DictReader(io.StringIO(gaps_csv(topics))))

    assert len(rows) == 3
    expected = [(n, q) for n, t in enumerate(topics, start=1) for q in t.questions]
    for row, (number, question) in zip(rows, expected, strict=True):
        assert row["topic"] == str(number)
        assert row["topic_label"] == topics[number - 1].label.lstrip("=")
        assert row["at"] == question.at
        assert row["resolved_question"] == question.resolved_question.replace("=", "'=", 1)
        assert row["reasons"].split(";") == [r.value for r in question.reasons]
        assert row["documents"] == ";".join(question.documents)
    by_text = {row["question"] for row in rows}
    assert 'card "swallowed", then\nkept' in by_text and "外币兑换，汇率多少？" in by_text
    # A cell a spreadsheet would run as a formula is defused.
    assert '\'=HYPERLINK("http://x")' in by_text


# ------------------------------------------------------------- document health


def document(document_id, review_by=None, expiry=None, current=1):
    return DocumentRecord(
        document_id,
        document_id.title(),
        f"{document_id}.md",
        "md",
        "en",
        Category.POLICY,
        None,
        expiry,
        ("everyone",),
        None,
        current,
        3,
        at(1, 9),
        review_by=review_by,
    )


def test_document_health():
    today = dt.date(2026, 11, 10)
    documents = [
        document("atm", review_by=dt.date(2026, 11, 9)),
        document("fx", expiry=dt.date(2026, 11, 1)),
        document("cards", review_by=today, expiry=today),
        document("old", current=None),
    ]
    questions = [
        logged(1, at(2, 9), "q1", documents=("atm", "cards")),
        logged(2, at(4, 9), "q2", documents=("atm",)),
        logged(3, at(3, 9), "q3", status="not_covered", documents=("atm", "old")),
    ]
    feedback = [
        verdict(1, at(2, 9), "q1", True, docs=("atm", "cards")),
        verdict(2, at(4, 9), "q2", False, docs=("atm",)),
        verdict(3, at(3, 9), "q3", False, docs=("atm", "atm")),
    ]
    health = {h.document_id: h for h in document_health(documents, questions, feedback, today)}

    assert set(health) == {"atm", "fx", "cards"}  # deleted documents are left out
    atm, fx, cards = health["atm"], health["fx"], health["cards"]
    assert (atm.times_shown, atm.last_shown, atm.never_shown) == (3, at(4, 9), False)
    assert (atm.helpful, atm.not_helpful) == (1, 2)
    assert atm.past_review_by and not atm.past_expiry
    assert fx.never_shown and fx.times_shown == 0 and fx.last_shown is None and fx.past_expiry
    assert not cards.past_review_by and not cards.past_expiry  # due today is not past
    assert (cards.times_shown, cards.helpful, cards.not_helpful) == (1, 1, 0)

    every = list(health.values())
    assert [h.document_id for h in most_used(every, 2)] == ["atm", "cards"]
    assert [h.document_id for h in least_used(every, 2)] == ["fx", "cards"]


# ---------------------------------------------------------------------- trends


def test_trends_per_day_with_quiet_days_filled():
    questions = [
        logged(1, at(2, 9), "a"),
        logged(2, at(2, 10), "b", status="not_covered"),
        logged(3, at(2, 11), "c", low=True),
        logged(4, at(2, 23, 59), "d"),
        logged(5, at(4, 9), "e", status="not_covered"),
        logged(6, at(4, 9), "f", status="not_covered"),
    ]
    feedback = [
        verdict(1, at(2, 9), "a", True),
        verdict(2, at(2, 9), "b", False),
        verdict(3, at(2, 9), "c", False),
        verdict(4, at(2, 9), "d", False),
        verdict(5, at(3, 9), "x", True),
    ]
    rows = trends(questions, feedback)

    assert [r.day for r in rows] == [DAY + dt.timedelta(days=n) for n in range(3)]
    first, quiet, last = rows
    assert (first.questions, first.refused, first.low_confidence) == (4, 1, 1)
    assert first.refusal_rate == pytest.approx(0.25)
    assert (first.helpful, first.not_helpful, first.helpful_rate) == (1, 3, 0.25)
    assert (quiet.questions, quiet.refusal_rate, quiet.helpful_rate) == (0, None, 1.0)
    assert (last.questions, last.refused, last.refusal_rate, last.helpful_rate) == (2, 2, 1.0, None)
    assert trends([], []) == []


def test_beyond_the_clustered_questions_the_rest_join_their_nearest_topic(monkeypatch):
    """A month of a large contact centre holds far more distinct failing questions than
    average linkage can hold in memory (an n x n matrix): the most asked are clustered, the
    rest join the topic they are closest to, and those that join none are clustered next. Same topics as clustering
    everything, here where the subjects are clear."""
    import kb.insights as insights

    rng = np.random.default_rng(7)
    subjects = np.eye(8)[:3]  # three subjects, far apart
    questions, rows = [], []
    for n in range(90):
        subject = n % 3
        asked = 3 if n < 6 else 1  # the first six are asked most
        for _ in range(asked):
            questions.append(gap(f"question {n} about subject {subject}", at(2, 9)))
            rows.append(subjects[subject] + 0.05 * rng.standard_normal(8))
    stray = [0, 0, 0, 0, 0, 0, 1.0, 0]  # a subject of its own, asked once
    questions.append(gap("something else entirely", at(2, 10)))
    rows.append(np.asarray(stray) + 0.05 * rng.standard_normal(8))
    vectors = unit(*rows)

    def membership(topics):
        return sorted(sorted(q.question for q in t.questions) for t in topics)

    everything = cluster_gaps(questions, vectors, threshold=0.5)
    linked = []
    linkage = insights._average_linkage
    monkeypatch.setattr(
        insights, "_average_linkage", lambda s, *a: linked.append(len(s)) or linkage(s, *a)
    )
    monkeypatch.setattr(insights, "MAX_CLUSTERED", 6)
    capped = cluster_gaps(questions, vectors, threshold=0.5)
    # The matrix held the six most asked, then (a second round) the one question that joined
    # none of their topics: never all 91.
    assert linked == [6, 1]
    assert membership(capped) == membership(everything)
    assert sorted(t.count for t in capped) == [1, 34, 34, 34]

"""Knowledge-gap topics from real multilingual-e5 vectors: themes recovered across languages.

The questions go the whole way an Ask page sends them: recorded in the question log (which
masks them), rated in the feedback store, turned into failing questions, embedded by the
real model and clustered. None of these questions was used to choose TOPIC_SIMILARITY.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from kb.feedback import FeedbackStore
from kb.insights import (
    GapReason,
    cluster_gaps,
    failing_questions,
    question_vectors,
    reference_vectors,
)
from kb.querylog import QueryLog
from kb.types import Answer, AnswerStatus

pytestmark = pytest.mark.integration

CARD = "4111 1111 1111 1111"  # Luhn-valid test card number
THEMES = {
    "crypto": [
        "Customer is asking whether we allow purchases of Bitcoin",
        "Can clients send funds to Binance from their current account?",
        "Is our bank OK with customers buying cryptocurrency?",
        "Card payment to a crypto trading platform was blocked, why?",
        f"customer wants to buy bitcoin with card {CARD}",
        "客户想买比特币，我们银行允许吗？",
        "向加密货币交易所转账会被拦截吗",
        "Can customers buy cryptocurrency with their debit card?",
        "Is it possible to purchase crypto using a debit card?",
    ],
    "mortgage": [
        "Customer lost their job and is asking for a mortgage payment holiday",
        "How many months can a mortgage payment holiday last?",
        "Will taking a payment holiday on the mortgage hurt the customer's credit file?",
        "Is interest still charged during a mortgage holiday?",
        "房贷还款假期最长多久",
        "客户失业了，可以申请暂停房贷还款吗",
        "Can the customer take a break from mortgage payments?",
        "Is a mortgage payment holiday available?",
    ],
    "name": [
        "Customer got divorced and wants to go back to her maiden name on the account",
        "What proof is needed to change the name on an account?",
        "Can a name change on the account be done over the phone?",
        "客户改名了，账户上的名字怎么改",
        "更改账户户名需要什么材料",
        "How do I change my name on the account?",
        "How can I update the name on my bank account?",
    ],
    "fx": [
        "外币兑换在哪个网点可以办理",
        "今天美元兑人民币的汇率是多少",
        "客户想把英镑换成港币现钞",
        "Does the branch exchange pounds into US dollars?",
        "What rate do we give for buying euros in cash?",
        "外币兑换要手续费吗",
        "换外币收不收手续费",
    ],
}
PARAPHRASES = [
    (
        "Can customers buy cryptocurrency with their debit card?",
        "Is it possible to purchase crypto using a debit card?",
    ),
    (
        "Can the customer take a break from mortgage payments?",
        "Is a mortgage payment holiday available?",
    ),
    ("How do I change my name on the account?", "How can I update the name on my bank account?"),
    ("外币兑换要手续费吗", "换外币收不收手续费"),
]
THEME_WORDS = {
    "crypto": {"crypto", "cryptocurrency", "bitcoin", "比特币", "加密", "货币"},
    "mortgage": {"mortgage", "holiday", "房贷", "还款", "假期"},
    "name": {"name", "姓名", "名字", "户名", "改名"},
    "fx": {"外币", "兑换", "currency", "exchange", "汇率", "手续费"},
}
START = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def topics(tmp_path_factory, embedder):
    folder = tmp_path_factory.mktemp("insights")
    log, store = QueryLog(folder / "questions.sqlite"), FeedbackStore(folder / "feedback.sqlite")
    try:
        asked = [(theme, q) for theme, questions in THEMES.items() for q in questions]
        for n, (theme, question) in enumerate(asked):
            refused = theme in ("crypto", "fx") or n % 3 == 0
            answer = Answer(
                question=question,
                resolved_question=question,
                status=AnswerStatus.NOT_COVERED if refused else AnswerStatus.ANSWERED,
                confidence=0.2 if refused else 0.6,
            )
            log.record(
                "agent1", answer, low_confidence=not refused, at=START + dt.timedelta(hours=5 * n)
            )
        store.add(
            "agent2",
            "Is a mortgage payment holiday available?",
            False,
            "no policy",
            ("mortgage-payment-hardship",),
            "answered",
            0.55,
        )
        gaps = failing_questions(log.all(), store.all())
    finally:
        log.close()
        store.close()
    vectors = question_vectors(gaps, embedder.embed_query)
    return cluster_gaps(gaps, vectors, reference=reference_vectors(embedder.embed_query))


def _theme_of(question: str) -> str:
    masked = question.replace("[card ****1111]", CARD)
    return next(theme for theme, qs in THEMES.items() if masked in qs)


def test_every_failing_question_is_in_exactly_one_topic(topics):
    assert sum(t.count for t in topics) == sum(len(qs) for qs in THEMES.values()) + 1
    assert [t.count for t in topics] == sorted((t.count for t in topics), reverse=True)


def test_topics_recover_the_themes(topics):
    themes_per_topic = [Counter(_theme_of(q.question) for q in t.questions) for t in topics]
    total = sum(sum(c.values()) for c in themes_per_topic)
    purity = sum(c.most_common(1)[0][1] for c in themes_per_topic) / total
    assert purity >= 0.8, [
        (t.label, dict(c)) for t, c in zip(topics, themes_per_topic, strict=True)
    ]
    # Purity alone rewards one question per topic: each theme must also mostly be together,
    # in a topic of its own.
    for theme, questions in THEMES.items():
        best = max(themes_per_topic, key=lambda c: c[theme])
        assert best[theme] >= 0.6 * len(questions), (theme, [dict(c) for c in themes_per_topic])
        assert best.most_common(1)[0][0] == theme


def test_paraphrases_land_together(topics):
    topic_of = {q.question: n for n, t in enumerate(topics) for q in t.questions}
    for a, b in PARAPHRASES:
        assert topic_of[a] == topic_of[b], (a, b)


def test_labels_name_the_theme(topics):
    for topic in topics[:4]:
        theme = Counter(_theme_of(q.question) for q in topic.questions).most_common(1)[0][0]
        assert set(topic.keywords) & THEME_WORDS[theme], (theme, topic.label)


def test_examples_are_masked_and_reasons_counted(topics):
    every_example = [e for t in topics for e in t.examples]
    assert not any(CARD in e for e in every_example)
    assert all(len(t.examples) <= 5 for t in topics)
    mortgage = next(t for t in topics if "Is a mortgage payment holiday available?" in t.examples)
    assert mortgage.reasons[GapReason.NOT_HELPFUL] >= 1
    assert sum(mortgage.per_day.values()) == mortgage.count

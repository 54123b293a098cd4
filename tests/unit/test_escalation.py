"""Escalation rules without the model: phrases in both scripts, negation, patterns, signals,
severity order, the hand-off decision and rule validation."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from ingest.pipeline import document_id_for
from kb.escalation import (
    CallTurn,
    EscalationDetector,
    EscalationRuleError,
    Rule,
    RuleSet,
    Signal,
    handoff_decision,
    load_rule_set,
    rule_from_dict,
    rule_to_dict,
)
from kb.escalation.rules import rule_set_from_dict, rule_set_to_dict

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def detector() -> EscalationDetector:
    return EscalationDetector(load_rule_set())


def customer(*texts: str) -> list[CallTurn]:
    return [CallTurn("customer", text) for text in texts]


def categories(detector: EscalationDetector, turns: list[CallTurn]) -> set[str]:
    return {alert.category for alert in detector.detect(turns)}


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("This is ridiculous, I want to make a complaint", "complaint"),
        ("我要投诉你们", "complaint"),
        ("我要投訴你們", "complaint"),
        ("My father passed away last month", "bereavement"),
        ("我爸爸上个月去世了", "bereavement"),
        ("我爸爸上個月過世了", "bereavement"),
        ("There's a payment on my account I didn't make", "fraud_scam"),
        ("我的卡被盗刷了", "fraud_scam"),
        ("我的卡被盜刷了", "fraud_scam"),
        ("They told me to move my money to a safe account", "fraud_scam"),
        ("他們叫我把錢轉到安全賬戶", "fraud_scam"),
        ("My mum has dementia", "vulnerability"),
        ("我媽媽有老年癡呆", "vulnerability"),
        ("Can I speak to a real person?", "human_request"),
        ("轉人工", "human_request"),
        ("This is the third time I've called about this", "repeat_contact"),
        ("这已经是我第三次打电话来了", "repeat_contact"),
    ],
)
def test_phrases_fire_in_english_and_both_chinese_scripts(detector, text, category):
    assert category in categories(detector, customer(text))


@pytest.mark.parametrize(
    "text",
    [
        "I don't want to complain, I just want to know when my card arrives",
        "No complaints, the app is great",
        "我不是要投诉，只是想问一下",
        "我没有不满",
        "my dad's card expired",
        "My phone died while I was paying",
        "My mum lost her card",
        "is this a scam-proof card?",
        "No, nobody has asked me to move money",
        "没有人叫我转账",
        "I can't pay with my card in shops",
        "I can't go on the app, it keeps crashing",
        "I can't see the payment in the app",
        "I don't need to speak to anyone",
        "This is the first time I've called",
        "Can you send my replacement card by courier?",
    ],
)
def test_negated_hedged_and_lookalike_words_do_not_fire(detector, text):
    assert detector.detect(customer(text)) == []


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("I dont recognize this payment", "fraud_scam"),
        ("there is a payment i didnt authorize", "fraud_scam"),
        ("This is terrible, close my account", "complaint"),
        ("我非常不滿意", "complaint"),
        ("人工！", "human_request"),
    ],
)
def test_typed_without_apostrophes_american_spelling_and_bare_words(detector, text, category):
    assert category in categories(detector, customer(text))


def test_still_waiting_is_not_a_repeat_contact(detector):
    assert "repeat_contact" not in categories(detector, customer("still waiting on my new card"))


def test_a_negation_in_another_clause_does_not_cancel(detector):
    assert "complaint" in categories(detector, customer("No, I want to make a complaint"))
    assert "fraud_scam" in categories(detector, customer("我没想到会被骗"))


def test_patterns(detector):
    alerts = detector.detect(customer("I've called you four times about this"))
    assert [(a.category, a.how) for a in alerts] == [("repeat_contact", "pattern")]
    assert "repeat_contact" in categories(detector, customer("这是我第三次来电了"))
    assert "fraud_scam" in categories(detector, customer("A payment I never authorised"))


def test_alert_quotes_the_words_as_written(detector):
    (alert,) = detector.detect(customer("Hello. 我爸爸上個月過世了。"))
    assert alert.matched == "過世"
    assert alert.procedure == "zh-deceased-customer-accounts"
    assert alert.rule_version == 1


def test_only_customer_turns_match_phrases(detector):
    turns = [CallTurn("agent", "Is this a complaint?"), CallTurn("bot", "I can report fraud")]
    assert detector.detect(turns) == []


def test_one_alert_per_rule_at_its_first_turn_most_severe_first(detector):
    turns = customer(
        "This is unacceptable, I'm really not happy",
        "and it's ridiculous",
        "a man says I must move my money to a safe account",
    )
    alerts = detector.detect(turns)
    assert [a.rule_id for a in alerts] == ["fraud_scam.in_progress", "complaint.expressed"]
    assert [a.severity for a in alerts] == ["critical", "medium"]
    assert alerts[1].turn_index == 0 and alerts[0].turn_index == 2


def test_bot_failing_twice_is_a_signal_once_is_not(detector):
    once = [
        CallTurn("customer", "how do I reset my password"),
        CallTurn("bot", "Sorry, I didn't understand that."),
        CallTurn("customer", "what's the CHAPS fee"),
    ]
    assert "bot_failure" not in categories(detector, once)
    twice = [*once, CallTurn("bot", "请换个说法")]
    (alert,) = [a for a in detector.detect(twice) if a.category == "bot_failure"]
    assert (alert.how, alert.turn_index) == ("signal", 3)


def test_repeated_question_signal(detector):
    turns = [
        CallTurn("customer", "how do I reset my online banking password"),
        CallTurn("bot", "Here is how to unlock your card."),
        CallTurn("customer", "How do I reset my online banking password?"),
    ]
    (alert,) = detector.detect(turns)
    assert (alert.category, alert.turn_index) == ("repeated_question", 2)
    short = customer("ok thanks", "ok thanks")
    assert detector.detect(short) == []
    different = customer("what is my balance", "what is the overdraft rate")
    assert detector.detect(different) == []


def test_handoff_decision(detector):
    assert not handoff_decision(detector, customer("what is my balance")).must_hand_over
    decision = handoff_decision(
        detector, [CallTurn("bot", "Hi, I'm Pine"), CallTurn("customer", "转人工")]
    )
    assert decision.must_hand_over and decision.from_turn == 1
    assert decision.reasons[0].category == "human_request"


def test_handoff_ignores_low_severity_alerts():
    low = Rule(
        id="praise", category="praise", severity="low", action="Say thanks", phrases=("great",)
    )
    detector = EscalationDetector(RuleSet((low,)))
    turns = customer("great service")
    assert [a.severity for a in detector.detect(turns)] == ["low"]
    assert handoff_decision(detector, turns).must_hand_over is False


class FakeEmbedder:
    """Texts mapped to fixed unit vectors, so meaning matching can be checked exactly."""

    name = "fake"
    dimension = 3
    vectors: ClassVar[dict[str, list[float]]] = {
        "my husband is gone": [1.0, 0.0, 0.0],
        "he is no longer with us": [0.96, 0.28, 0.0],
        "what is my balance": [0.0, 0.0, 1.0],
        "the card is gone": [0.9, 0.0, 0.436],
        "my card is gone": [0.85, 0.0, 0.527],
    }

    def embed_query(self, text: str) -> np.ndarray:
        vector = np.asarray(self.vectors.get(text, [0.0, 1.0, 0.0]), dtype=np.float32)
        return vector / np.linalg.norm(vector)

    def embed_passages(self, texts):  # pragma: no cover - not used
        return np.vstack([self.embed_query(t) for t in texts])


def test_meaning_needs_the_threshold_and_must_beat_ordinary_utterances():
    rule = Rule(
        id="loss", category="bereavement", severity="high", action="Transfer to BEREAVE",
        examples=("my husband is gone",), counter_examples=("the card is gone",),
    )  # fmt: skip
    rules = RuleSet((rule,), meaning_threshold=0.9, ordinary=("what is my balance",))
    assert EscalationDetector(rules).detect(customer("he is no longer with us")) == []
    detector = EscalationDetector(rules, embedder=FakeEmbedder())
    (alert,) = detector.detect(customer("he is no longer with us"))
    assert (alert.how, alert.matched) == ("meaning", "he is no longer with us")
    assert detector.detect(customer("he is no longer with us"), meaning_threshold=0.97) == []
    # Near the example (0.85) but nearer the counter-example (0.99): no alert.
    assert detector.detect(customer("my card is gone"), meaning_threshold=0.8) == []


def test_default_rules_are_grounded_in_sample_documents():
    rules = load_rule_set()
    documents = {document_id_for(p.name) for p in (REPO / "samples").iterdir()}
    assert {r.category for r in rules.rules} >= {
        "complaint", "fraud_scam", "vulnerability", "bereavement", "human_request",
        "repeat_contact", "repeated_question", "bot_failure",
    }  # fmt: skip
    for rule in rules.rules:
        assert rule.procedure in documents, rule.id
        assert rule.action and rule.description


def test_rules_round_trip_through_json():
    rules = load_rule_set()
    again = rule_set_from_dict(json.loads(json.dumps(rule_set_to_dict(rules))))
    assert again.rules == rules.rules
    assert again.ordinary == rules.ordinary
    for rule in rules.rules:
        assert rule_from_dict(rule_to_dict(rule)) == rule


BASE = {
    "id": "r1",
    "category": "complaint",
    "severity": "medium",
    "action": "Log it",
    "phrases": ["x"],
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"severity": "urgent"},
            "severity must be one of low, medium, high, critical. Currently, severity is 'urgent'",
        ),
        ({"patterns": ["(unclosed"]}, "pattern '(unclosed' is not valid"),
        ({"colour": "red"}, "unknown field(s) colour"),
        ({"phrases": []}, "nothing can fire it"),
        ({"phrases": "complain"}, "phrases must be a list of strings"),
        ({"id": "Bad Id"}, "rule id must be"),
        ({"action": " "}, "action is empty"),
        ({"threshold": 1.5}, "threshold must be a number in (0, 1]"),
        ({"signal": {"kind": "silence"}}, "signal must be one of repeated_question, bot_failure"),
        ({"signal": {"kind": "repeated_question", "count": 0}}, "signal count must be at least 1"),
        ({"counter_examples": ["y"]}, "counter_examples without examples"),
    ],
)
def test_rule_validation_names_the_rule_and_the_bad_value(change, message):
    with pytest.raises(EscalationRuleError) as error:
        rule_from_dict({**BASE, **change})
    assert message in str(error.value)


def test_missing_fields_and_duplicate_ids_are_refused():
    with pytest.raises(EscalationRuleError, match="missing field"):
        rule_from_dict({"id": "r1", "category": "complaint"})
    rule = rule_from_dict(BASE)
    with pytest.raises(EscalationRuleError, match="appears twice"):
        RuleSet((rule, replace(rule, severity="high")))
    assert rule.signal is None and Signal("bot_failure").count == 2

"""Knowledge-gap topics are named from masked words: never a placeholder, never a secret."""

from __future__ import annotations

import numpy as np
import pytest

from kb.insights import GapQuestion, GapReason, cluster_gaps


def _gap(question: str, minute: int) -> GapQuestion:
    return GapQuestion(
        f"2026-11-02T09:{minute:02d}:00+00:00",
        "agent1",
        question,
        question,
        (GapReason.REFUSED,),
        0.2,
        (),
        "en",
        minute + 1,
    )


def _one_topic(questions: list[str]):
    gaps = [_gap(q, i) for i, q in enumerate(questions)]
    vectors = np.tile([1.0, 0.0, 0.0, 0.0], (len(gaps), 1))  # the same subject: one topic
    others = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
    (topic,) = cluster_gaps(gaps, vectors, reference={"en": others, "zh": others})
    return topic


@pytest.mark.security
def test_a_topic_label_never_shows_a_typed_password_from_the_question_log():
    """Attack: agents typed "password hunter2" in questions logged before masking knew secrets; the topic label must not read "password · hunter2 · online"."""
    topic = _one_topic(
        [
            "online banking password hunter2 not accepted",
            "customer online password hunter2 rejected",
            "online banking password is Hunter2 and PIN 4821",
            "密码是hunter2，网银登录不了",
        ]
    )
    words = " ".join(topic.keywords).lower() + " " + topic.label.lower()
    assert "hunter2" not in words and "4821" not in words
    assert "password" in topic.keywords or "online" in topic.keywords


@pytest.mark.security
def test_a_topic_label_is_never_a_placeholder():
    """Attack: many agents' questions carry masked data ("[secret]", "[card ****6467]"); the label must not be named after the placeholders."""
    topic = _one_topic(
        [
            "PIN [secret] locked [secret] [secret]",
            "[card ****6467] PIN [secret] locked",
            "PIN [secret] locked at ATM [phone ****5678] [email]",
        ]
    )
    for word in topic.keywords:
        assert word not in {"secret", "card", "phone", "email", "id", "account"}, topic.keywords
        assert "*" not in word and "[" not in word
    assert "locked" in topic.keywords or "pin" in topic.keywords


def test_a_label_made_of_an_example_is_masked_too():
    """A topic with no meaningful word is labelled with its first example: masked."""
    topic = _one_topic(["4539 1488 0343 6467?", "4539 1488 0343 6467?"])
    assert "4539" not in topic.label and "6467" in topic.label

"""The Insights page with AppTest, built from real questions asked through the service the
Ask page uses (masked, logged, some refused, some marked not helpful)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from kb.types import AnswerStatus, Query
from tests.conftest import GOOD, REPO, copy_kb

pytestmark = pytest.mark.integration

QUESTIONS = [
    "How do I block a lost debit card?",
    "借记卡丢了怎么挂失？",
    "can the customer buy bitcoin with their account",
    "does the bank let customers purchase cryptocurrency",
    "customer wants to buy crypto, card 4539 1488 0343 6467",
    "how do I bake sourdough bread",
    "what is the fee for a wire transfer at a branch",
]


FILES = (GOOD / "procedure.docx", GOOD / "policy.pdf", GOOD / "zh_procedure.pdf")
USERS = (("ana", "agent", "agent-passphrase"), ("kim", "knowledge", "knowledge-pass"))


@pytest.fixture
def used_base(request, kb_template, settings):
    """Three documents and two people, copied from a base built once (parsing is the slow
    part), then this test's own questions and feedback."""
    copy_kb(kb_template(FILES, USERS), settings.data_dir)
    services = request.getfixturevalue("served")
    answers = [services.ask(Query(q), user="ana") for q in QUESTIONS]
    fee = answers[-1]
    services.give_feedback("ana", fee, False, "the fee for HKD transfers is missing")
    return services, answers


def test_knowledge_team_sees_gaps_health_and_trends_from_real_questions(used_base):
    services, answers = used_base
    refused = [a.question for a in answers if a.status == AnswerStatus.NOT_COVERED]
    assert any("crypto" in q for q in refused)  # the gap the sample procedure cannot answer
    page = AppTest.from_file(str(REPO / "ui" / "insights.py"), default_timeout=120)
    page.session_state["user"] = services.users.get("kim")
    page.run()
    assert not page.exception
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Questions asked"] == str(len(QUESTIONS))
    topics = page.dataframe[0].value
    crypto = topics[topics["Topic"].str.contains("crypto|bitcoin", case=False)]
    assert len(crypto) == 1 and int(crypto["Questions"].iloc[0]) >= 2  # paraphrases together
    assert int(topics["Not helpful"].sum()) == 1
    shown = " ".join(e.label for e in page.expander) + str([m.value for m in page.markdown])
    # Examples are the questions as searched: typed customer data is masked, then left out.
    assert "4539 1488 0343 6467" not in shown and "crypto" in shown
    health = {r["Title"]: r for r in page.dataframe[-1].value.to_dict("records")}
    assert health["Reporting a Lost or Stolen Debit Card"]["Shown"] >= 1
    assert page.get("download_button")  # CSV export is offered


def test_agents_cannot_open_insights(used_base):
    services, _ = used_base
    page = AppTest.from_file(str(REPO / "ui" / "insights.py"), default_timeout=60)
    page.session_state["user"] = services.users.get("ana")
    page.run()
    assert "cannot open this page" in page.error[0].value

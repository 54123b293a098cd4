"""The Live call page with AppTest: typed turns bring a suggestion and an escalation banner,
pin and "used", a call opened through the API for the agent, the masked summary at the end,
and the same page in Chinese."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from kb.calls import Caller, NewTurn, Speaker, Verdict
from tests.app.conftest import open_page
from tests.conftest import REPO

pytestmark = pytest.mark.integration

LOST_AND_COMPLAINT = (
    "I lost my debit card yesterday and I want to make a formal complaint, "
    "my card is 4539 1488 0343 6467"
)


def live_page(services, name: str = "ana", language: str = "en") -> AppTest:
    return open_page(services, "live", name, language)


def say(app: AppTest, text: str, speaker: str | None = None) -> AppTest:
    if speaker is not None:
        app.radio[0].set_value(speaker)
    app.text_input[0].input(text)
    app.button(key="live-turn-add").click().run()
    assert not app.exception, app.exception
    return app


def started(services, language: str = "en") -> AppTest:
    app = live_page(services, language=language)
    assert not app.exception
    start = "开始通话" if language == "zh" else "Start a call"
    next(b for b in app.button if b.label == start).click().run()
    assert not app.exception
    return app


def page_text(app: AppTest) -> str:
    """The page's Markdown as the agent reads it (content is escaped to show as text)."""
    shown = "\n".join(m.value for m in app.markdown) + "\n".join(c.value for c in app.caption)
    return re.sub(r"\\(.)", r"\1", shown)


def test_typed_turns_bring_a_suggestion_and_an_escalation_banner(app_base):
    app = started(app_base)
    assert "Suggestions appear once the customer has said something." in page_text(app)
    say(app, LOST_AND_COMPLAINT)
    assert "Reporting a Lost or Stolen Debit Card" in page_text(app)
    banner = next(w.value for w in app.warning if "Escalation" in w.value)
    assert "complaint" in banner and "(medium)" in banner
    assert "in turn 1, customer" in banner
    assert "4539" not in page_text(app) + banner  # the transcript and alert are masked
    steps = next(e for e in app.expander if e.label == "Steps and sources")
    assert any("lost or stolen" in m.value for m in steps.markdown)  # steps or passages
    assert any(
        "Reporting a Lost or Stolen Debit Card > " in c.value and "(v1" in c.value
        for c in steps.caption
    )  # citation: document > section (version ...)

    say(app, "Can I get a replacement quickly?", speaker="customer")
    say(app, "Let me check that for you.", speaker="agent")
    assert len(app.chat_message) == 3
    assert "**agent** · Let me check that for you." in page_text(app)


def test_pin_and_used_and_end_shows_the_masked_summary(app_base):
    app = started(app_base)
    say(app, LOST_AND_COMPLAINT)
    app.button(key="pin-procedure").click().run()
    assert not app.exception
    assert any(m.value.startswith(":material/push_pin:") for m in app.markdown)
    app.button(key="used-procedure").click().run()
    assert not app.exception
    assert app.button(key="used-procedure").disabled
    call_id = app.session_state["live_call"]
    feedback = app_base.call_sessions().store.feedback(call_id)
    assert [(f.document_id, f.verdict, f.by) for f in feedback] == [
        ("procedure", Verdict.USED, "ana")
    ]

    next(b for b in app.button if b.label == "End call").click().run()
    assert not app.exception
    assert [s.value for s in app.subheader] == ["Call summary"]
    text = page_text(app)
    assert "Documents used:** procedure" in text
    assert "[card ****6467]" in text and "4539" not in text
    assert app_base.call_sessions().store.call(call_id).status.value == "ended"


def test_a_call_opened_through_the_api_for_the_agent_shows_up(app_base):
    sessions = app_base.call_sessions()
    api = Caller("api:stt-bridge", "ana", ())
    call = sessions.open(api, reference="line 7")
    sessions.add_turns(call.call_id, api, [NewTurn(Speaker.CUSTOMER, "My debit card was stolen")])
    other = sessions.open(Caller("api:stt-bridge", "kim", ()))
    app = live_page(app_base)
    assert not app.exception
    assert app.session_state["live_call"] == call.call_id
    assert app.selectbox[0].options == [app.selectbox[0].value]
    assert "from api:stt-bridge" in app.selectbox[0].value and other.call_id not in str(app)
    assert any("My debit card was stolen" in m.value for m in app.markdown)
    assert "Reporting a Lost or Stolen Debit Card" in page_text(app)


def test_the_page_in_chinese(app_base):
    app = started(app_base, language="zh")
    assert [t.value for t in app.title] == ["实时通话"]
    say(app, "我的借记卡丢了，我要投诉你们")
    banner = next(w.value for w in app.warning if "升级" in w.value)
    assert "投诉" in banner and "第 1 轮" in banner
    assert any("借记卡" in m.value for m in app.markdown)
    assert {b.label for b in app.button} >= {"结束通话", "置顶", "标记为已采用", "忽略"}


def test_the_page_is_for_signed_in_staff(app_base):
    app = AppTest.from_file(str(REPO / "ui" / "live.py"), default_timeout=60).run()
    assert "Please sign in." in app.error[0].value

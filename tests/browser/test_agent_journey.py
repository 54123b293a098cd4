"""A person's journey in real Chromium: an agent signs in, asks, sees steps and sources,
opens a source, gives feedback. Also measures Enter-to-answer time over 20 questions.

Needs Debian's chromium (.ci/run installs it); skipped with a reason when it is missing.
Screenshots go to tests/browser/output/ (look at them).
"""

from __future__ import annotations

import json
import statistics
import time

import pytest

from tests.browser.conftest import (
    CHROMIUM,
    FLAGS,
    OUTPUT,
    ask,
    idle,
    screenshot,
    sign_in,
    uploaded,
)

pytestmark = pytest.mark.integration
QUESTIONS = [
    "How do I block a lost debit card?", "What is the fee for express replacement?",
    "USD wire cut-off time", "How do I reset an online banking password?",
    "借记卡丢了怎么挂失？", "What does a standing order set-up need?",
    "card declined abroad", "fee for a branch wire transfer", "customer lost their card abroad",
    "what if the passcode cannot be delivered?", "how much cash can be deposited at a branch?",
    "overseas ATM withdrawal fee", "password rules online banking", "replacement card at branch",
    "can the customer unblock a blocked card?", "wire transfer above HKD 500,000",
    "补卡费用是多少？", "how long does standard replacement take?", "cancel a standing order",
    "who approves exceptions to the wire policy?",
]  # fmt: skip


def test_agent_signs_in_asks_opens_a_source_and_gives_feedback(served_app):
    from playwright.sync_api import sync_playwright

    url, data_dir = served_app
    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.get_by_label("User name").fill("ana")
        page.get_by_role("textbox", name="Password").fill("agent-passphrase")
        page.get_by_role("button", name="Sign in").click()
        question = page.get_by_label("Question", exact=True)
        question.wait_for(timeout=30_000)
        screenshot(page, "1-signed-in.png")

        question.fill("How do I block a lost debit card?")
        question.press("Enter")
        page.get_by_text("Steps", exact=True).wait_for(timeout=60_000)
        page.get_by_text("1. Verify the caller's identity").first.wait_for(timeout=30_000)
        steps = page.locator("[data-testid='stCheckbox']")  # the passages show it too, as text
        assert steps.filter(has_text="2. Open the card record in CardLink").count() == 1
        screenshot(page, "2-answer.png")

        expanders = page.locator("[data-testid='stExpander']")
        source = expanders.filter(has_text="Reporting a Lost or Stolen Debit Card").first
        source.scroll_into_view_if_needed()
        source.locator("summary").click()
        download = source.locator("[data-testid='stDownloadButton']")
        download.wait_for(timeout=10_000)
        download.scroll_into_view_if_needed()
        screenshot(page, "3-source-open.png")
        with page.expect_download() as opened:
            download.locator("button").click()
        assert opened.value.suggested_filename == "procedure.docx"

        page.get_by_role("button", name="Helpful", exact=True).click()
        page.get_by_text("feedback recorded").wait_for(timeout=20_000)
        screenshot(page, "4-feedback.png")

        # Enter-to-answer time as a person sees it: from pressing Enter until the new
        # answer card ("Answer N of this call") is drawn.
        timings = []
        for n, text in enumerate(QUESTIONS, start=2):
            box = page.get_by_label("Question", exact=True)
            box.fill(text)
            started = time.perf_counter()
            box.press("Enter")
            page.get_by_text(f"Answer {n} of this call", exact=True).wait_for(timeout=60_000)
            timings.append(time.perf_counter() - started)
        screenshot(page, "5-after-20-questions.png")
        browser.close()
    (OUTPUT / "timings.json").write_text(
        json.dumps({"median_seconds": statistics.median(timings), "seconds": timings}, indent=2)
    )
    assert len(timings) == 20
    from kb.feedback import FeedbackStore

    stored = FeedbackStore(data_dir / "feedback.sqlite").all()
    assert len(stored) == 1 and stored[0].helpful and stored[0].user == "ana"


def test_knowledge_team_uploads_and_the_next_question_is_answered_from_it(served_app, tmp_path):
    """Also: the agent switches the interface to Chinese, and the knowledge team replaces
    the document with a new version under another file name."""
    from playwright.sync_api import expect, sync_playwright

    url, _ = served_app  # kim, of the knowledge team, is in served_app's base
    new_document = tmp_path / "safe-deposit-boxes.md"
    new_document.write_text(
        "# Safe deposit boxes\n\nDocument owner: Branch Services | Effective date: 2026-01-01\n\n"
        "## Fees\n\nA small safe deposit box costs £120 a year; a large box costs £240 a year.\n\n"
        "## Opening a box\n\n1. Check the customer's identity.\n2. Take the annual fee.\n3. Give the customer two keys.\n",
        encoding="utf-8",
    )
    revised = tmp_path / "safe-deposit-boxes-2027.md"
    revised.write_text(
        new_document.read_text(encoding="utf-8").replace("£120", "£150").replace("£240", "£300"),
        encoding="utf-8",
    )
    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        sign_in(page, url, "kim", "knowledge-pass")
        page.get_by_role("link", name="Library").click()
        page.get_by_text("Upload documents").click()
        page.locator("input[type='file'][multiple]").set_input_files(str(new_document))
        uploaded(page, new_document.name)
        page.get_by_role("button", name="Ingest files").click()
        page.get_by_text("1 files: 1 added").wait_for(timeout=60_000)
        screenshot(page, "6-uploaded.png")
        page.get_by_role("button", name="Sign out").click()

        sign_in(page, url, "ana", "agent-passphrase")
        ask(page, "How much does a safe deposit box cost?")
        page.get_by_text("£120 a year").first.wait_for(timeout=60_000)
        screenshot(page, "7-answered-from-upload.png")

        # The interface in Chinese: labels, the answer's steps, and its sources.
        page.get_by_text("中文", exact=True).first.click()
        page.get_by_text("本次通话第 1 个回答").wait_for(timeout=30_000)  # the rerun has finished
        box = page.get_by_label("问题", exact=True)
        box.fill("借记卡丢了怎么挂失？")
        expect(box).to_have_value("借记卡丢了怎么挂失？")
        page.get_by_role("button", name="提问", exact=True).click()
        page.get_by_text("步骤", exact=True).wait_for(timeout=60_000)
        page.get_by_text("本次通话第 2 个回答").wait_for(timeout=30_000)
        screenshot(page, "8-chinese-interface.png")
        page.get_by_text("English", exact=True).first.click()
        page.get_by_role("button", name="Sign out").click()

        # A new version under another file name replaces the document; answered at once.
        sign_in(page, url, "kim", "knowledge-pass")
        page.get_by_role("link", name="Library").click()
        page.get_by_label("Document", exact=True).wait_for(timeout=30_000)
        page.get_by_label("Document", exact=True).click()
        page.get_by_role("option", name="safe-deposit-boxes").click()
        idle(page)
        page.get_by_text("Replace with a new version").click()
        page.locator("input[type='file']").last.set_input_files(str(revised))
        uploaded(page, revised.name)
        page.get_by_role("button", name="Replace", exact=True).click()
        page.get_by_text("Now version 2").wait_for(timeout=60_000)
        screenshot(page, "9-replaced.png")
        page.get_by_role("button", name="Sign out").click()
        sign_in(page, url, "ana", "agent-passphrase")
        ask(page, "How much does a safe deposit box cost?")
        page.get_by_text("£150 a year").first.wait_for(timeout=60_000)
        assert page.get_by_text("£120 a year").count() == 0
        browser.close()

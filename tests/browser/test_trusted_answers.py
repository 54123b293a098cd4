"""The answers a new agent tried and did not get right, in real Chromium on real sample
documents: a debit card lost abroad gives the lost-card procedure's own "Reporting from
abroad" steps (the travel guide sends the agent there, and says so), and the CHAPS fee asked
for as of 2027-02-01 is the £30 of the fee change notice, not the older table's £25.

Needs Debian's chromium (.ci/run installs it); skipped with a reason when it is missing.
"""

from __future__ import annotations

import os

import pytest

from tests.browser.conftest import (
    CHROMIUM,
    FLAGS,
    OUTPUT,
    ask,
    idle,
    require_chromium,
    screenshot,
    sign_in,
    start_app,
)
from tests.conftest import REPO, copy_kb

pytestmark = pytest.mark.integration
SAMPLES = (
    "foreign-currency-travel.docx", "lost-stolen-card-procedure.docx", "fee-changes-2027.pdf",
    "fee-schedule.xlsx", "wire-international-transfer-policy.pdf", "card-disputes-chargebacks.pdf",
)  # fmt: skip


@pytest.fixture(scope="module")
def sample_app(tmp_path_factory, kb_template):
    require_chromium()
    # What `kb ingest` and `kb users add` would build, made in this process (no interpreters
    # to start) and copied for the server.
    files = tuple(REPO / "samples" / name for name in SAMPLES)
    template = kb_template(files, (("sam", "agent", "agent-passphrase"),), by="cli")
    data_dir = copy_kb(template, tmp_path_factory.mktemp("trusted") / "kb")
    env = {**os.environ, "KB_DATA_DIR": str(data_dir)}
    server, url = start_app(env)
    yield url
    server.terminate()
    server.wait(timeout=20)


def test_lost_card_abroad_and_chaps_fee_after_the_change(sample_app):
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        sign_in(page, sample_app, "sam", "agent-passphrase")
        ask(page, "customer lost their debit card abroad")
        idle(page)
        main = page.locator('[data-testid="stMain"]')
        # The headline quotes "Offer an emergency replacement card" too: wait for the steps
        # themselves, which the page renders after it (waiting for the headline's words let
        # the text be read before the steps were on the page).
        main.get_by_text("Offer emergency cash", exact=False).first.wait_for(timeout=60_000)
        text = main.inner_text()
        assert "Reporting from abroad" in text
        assert "Offer emergency cash" in text
        assert "Using Cards Abroad and Travel Guidance" in text  # who sent the agent there
        screenshot(page, "trusted-1-lost-card-abroad.png")

        for part, value in (("day", "01"), ("month", "02"), ("year", "2027")):
            field = page.get_by_role("spinbutton", name=f"{part}, Documents in force on")
            field.click()
            field.press_sequentially(value)
        page.keyboard.press("Tab")
        page.wait_for_timeout(1000)
        idle(page)
        for attempt in range(3):  # a rerun caused by the date can swallow the first Enter
            ask(page, "What is the CHAPS fee")
            try:
                main.get_by_text("Answer 2 of this call").wait_for(timeout=20_000)
                break
            except Exception:
                if attempt == 2:
                    page.screenshot(path=OUTPUT / "failure-trusted.png", full_page=True)
                    raise
        idle(page)
        screenshot(page, "trusted-2-chaps-fee-2027.png")
        main.get_by_text("Changed on 2027-01-01", exact=False).first.wait_for(timeout=30_000)
        headline = main.locator(".st-key-answer-text p").first.inner_text()  # the answer's text
        assert "£30" in headline and "£25" not in headline, headline
        screenshot(page, "trusted-2-chaps-fee-2027.png")
        browser.close()

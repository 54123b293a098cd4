"""Four-eyes publishing in real Chromium (issue 13): a knowledge-team member uploads a new
version of the fee sheet with a changed CHAPS fee; an agent asking still gets the old fee;
a second reviewer opens the diff (the changed fee highlighted side by side) and approves
it; the agent then gets the new fee. On the way: a batch whose every file failed is a red
box naming the file and its reason, and the Library's forms say nothing in English under
中文 ("Press Enter to submit form").

Needs Debian's chromium (.ci/run installs it); skipped with a reason when it is missing.
Screenshots: tests/browser/output/review-*.png.
"""

from __future__ import annotations

import os
import subprocess
import sys

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
    uploaded,
)
from tests.conftest import BAD
from tests.integration.test_publishing import QUESTION, fees

pytestmark = pytest.mark.integration
PEOPLE = (("kim", "knowledge", "knowledge-pass"), ("lee", "knowledge", "knowledge-pass-2"),
          ("ana", "agent", "agent-passphrase"))  # fmt: skip


@pytest.fixture(scope="module")
def review_app(tmp_path_factory):
    """The fee sheet (CHAPS £25) published by the operator; four-eyes publishing on (the
    default); two knowledge-team members and an agent."""
    require_chromium()
    folder = tmp_path_factory.mktemp("review")
    data_dir = folder / "kb"
    (folder / "payment-fees.md").write_bytes(fees("£25"))
    (folder / "payment-fees-2027.md").write_bytes(fees("£30"))
    env = {**os.environ, "KB_DATA_DIR": str(data_dir)}
    kb = [sys.executable, "-m", "kb.cli"]
    subprocess.run(
        [*kb, "ingest", "--no-progress", str(folder / "payment-fees.md")], env=env, check=True
    )
    for name, role, password in PEOPLE:
        subprocess.run(
            [*kb, "users", "add", name, "--role", role, "--password", password], env=env, check=True
        )
    server, url = start_app(env)
    yield url, folder
    server.terminate()
    server.wait(timeout=20)


def person(browser, url: str, name: str):  # type: ignore[no-untyped-def]
    """A browser context of one's own, signed in (as at a desk of one's own)."""
    password = next(p for n, _, p in PEOPLE if n == name)
    page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    sign_in(page, url, name, password)
    return page


def choose(page, label: str, option: str) -> None:  # type: ignore[no-untyped-def]
    """Pick an option of a select box once the page has settled (a click while the script
    still runs can land on a box that is redrawn and closes)."""
    for attempt in range(3):
        idle(page)
        page.get_by_label(label, exact=True).click()
        try:
            page.get_by_role("option", name=option).click(timeout=10_000)
            idle(page)
            return
        except Exception:
            if attempt == 2:
                raise


def fee_answer(page) -> str:  # type: ignore[no-untyped-def]
    ask(page, QUESTION)
    page.get_by_text("A CHAPS payment costs", exact=False).first.wait_for(timeout=90_000)
    idle(page)
    return page.locator('[data-testid="stMain"]').inner_text()


def test_a_draft_answers_nobody_until_a_second_person_approves_it(review_app):
    from playwright.sync_api import sync_playwright

    url, folder = review_app
    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)

        # kim: a batch that fails is red, with the file and its reason; then the new version.
        kim = person(browser, url, "kim")
        kim.get_by_role("link", name="Library").click()
        kim.get_by_text("Upload documents").click()
        kim.locator("input[type='file']").first.set_input_files(str(BAD / "empty.txt"))
        uploaded(kim, "empty.txt")
        kim.get_by_role("button", name="Ingest files").click()
        red = kim.locator('[data-testid="stAlertContentError"]')
        red.get_by_text("No file was added.", exact=False).wait_for(timeout=60_000)
        assert "empty.txt" in red.inner_text()
        assert kim.locator('[data-testid="stAlertContentSuccess"]').count() == 0
        screenshot(kim, "review-0-failed-upload-red.png")

        choose(kim, "Document", "payment-fees")
        kim.get_by_text("Replace with a new version").click()
        kim.locator("input[type='file']").last.set_input_files(str(folder / "payment-fees-2027.md"))
        uploaded(kim, "payment-fees-2027.md")
        kim.get_by_role("button", name="Replace", exact=True).click()
        kim.get_by_text("Version 2 submitted for review", exact=False).wait_for(timeout=60_000)
        screenshot(kim, "review-1-draft-submitted.png")

        # The forms say nothing in English under 中文 (no "Press Enter to submit form").
        kim.get_by_text("中文", exact=True).first.click()
        kim.get_by_text("上传文件").first.wait_for(timeout=30_000)
        kim.get_by_text("上传文件").first.click()
        owner = kim.get_by_label("负责人", exact=True).first
        owner.click()
        owner.type("Payments")
        kim.wait_for_timeout(800)
        assert "Press Enter" not in kim.locator('[data-testid="stMain"]').inner_text()
        screenshot(kim, "review-2-chinese-form.png")

        # ana, an agent: the draft does not answer.
        ana = person(browser, url, "ana")
        before = fee_answer(ana)
        assert "£25" in before and "£30" not in before
        screenshot(ana, "review-3-agent-still-old-fee.png")

        # lee, a second person: the diff shows the changed fee; lee approves.
        lee = person(browser, url, "lee")
        lee.get_by_role("link", name="Library").click()
        lee.get_by_text("Drafts awaiting review (1)").wait_for(timeout=60_000)
        added = lee.locator("ins", has_text="£30")
        removed = lee.locator("del", has_text="£25")
        added.first.wait_for(timeout=30_000)
        # In the review section and again in the document's "Compare two versions".
        assert removed.count() == added.count() >= 1
        added.first.scroll_into_view_if_needed()
        screenshot(lee, "review-4-diff-changed-fee.png")
        lee.get_by_label("Review comment (required to reject)").fill("Matches the 2027 tariff")
        lee.get_by_role("button", name="Approve and publish").click()
        approved = lee.get_by_text("Approved version 2 of payment-fees", exact=False)
        approved.wait_for(timeout=60_000)
        approved.scroll_into_view_if_needed()
        screenshot(lee, "review-5-approved.png")

        # ana again, on the next call: the new fee.
        ana = person(browser, url, "ana")
        after = fee_answer(ana)
        assert "£30" in after and "£25" not in after
        screenshot(ana, "review-6-agent-new-fee.png")
        browser.close()

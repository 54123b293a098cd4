"""Sessions in real Chromium (issue 13): an agent's sign-in and call survive a reload and a
new tab, a page the role may not use says so and the session goes on, sign-out ends it, and
the token travels only in a SameSite=Strict cookie, never in the URL.

Needs Debian's chromium (.ci/run installs it); skipped with a reason when it is missing.
Screenshots: tests/browser/output/session-*.png.
"""

from __future__ import annotations

import sqlite3
import time

import pytest

from kb.sessions import token_hash
from tests.browser.conftest import CHROMIUM, FLAGS, OUTPUT, ask, idle, screenshot, sign_in

pytestmark = pytest.mark.integration
QUESTION = "Customer lost debit card 4539 1488 0343 6467, how do I block it?"


def test_reload_keeps_the_agent_and_the_call_and_sign_out_ends_the_session(served_app):
    from playwright.sync_api import expect, sync_playwright

    url, data_dir = served_app
    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        sign_in(page, url, "ana", "agent-passphrase")
        ask(page, QUESTION)
        page.get_by_text("Verify the caller", exact=False).first.wait_for(timeout=90_000)
        sidebar = page.get_by_test_id("stSidebar")
        screenshot(page, "session-1-asked.png")

        (cookie,) = [c for c in context.cookies() if c["name"] == "answerdesk_session"]
        assert (cookie["sameSite"], cookie["path"]) == ("Strict", "/")
        assert time.time() < cookie["expires"] <= time.time() + 12 * 3600 + 60
        stored = " ".join(
            row[0]
            for row in sqlite3.connect(data_dir / "sessions.sqlite").execute(
                "SELECT token_hash || state_json FROM sessions"
            )
        )
        assert cookie["value"] not in stored and "4539" not in stored and "****6467" in stored

        page.reload()
        idle(page)
        expect(sidebar.get_by_text("Signed in as")).to_be_visible(timeout=30_000)
        expect(sidebar.get_by_text("This call")).to_be_visible()
        expect(sidebar.get_by_text("****6467", exact=False)).to_be_visible()
        expect(page.get_by_text("Verify the caller", exact=False).first).to_be_visible()
        screenshot(page, "session-2-reloaded.png")

        other = context.new_page()  # a new tab of the same browser: the same session
        other.goto(url)
        idle(other)
        other_sidebar = other.get_by_test_id("stSidebar")
        expect(other_sidebar.get_by_text("Signed in as")).to_be_visible(timeout=30_000)
        expect(other_sidebar.get_by_text("This call")).to_be_visible()
        other.close()

        page.goto(f"{url}/admin")
        idle(page)
        expect(page.get_by_text("Your role (agent) cannot open this page.")).to_be_visible(
            timeout=30_000
        )
        assert sidebar.get_by_role("link", name="Admin").count() == 0  # hidden from the menu
        screenshot(page, "session-3-forbidden-page.png")
        sidebar.get_by_role("link", name="Ask").click()
        idle(page)
        expect(page.get_by_role("heading", name="Ask")).to_be_visible(timeout=60_000)
        expect(sidebar.get_by_text("Signed in as")).to_be_visible()
        expect(sidebar.get_by_text("This call")).to_be_visible()
        assert cookie["value"] not in page.url

        # The server's app is shared with the other journeys, whose sessions of ana may still
        # be open: sign-out must end this one and leave theirs to them.
        db = sqlite3.connect(data_dir / "sessions.sqlite")
        mine = "SELECT count(*) FROM sessions WHERE token_hash = ?"
        theirs = "SELECT count(*) FROM sessions WHERE user = 'ana' AND token_hash != ?"
        assert db.execute(mine, (token_hash(cookie["value"]),)).fetchone() == (1,)
        others = db.execute(theirs, (token_hash(cookie["value"]),)).fetchone()
        page.get_by_role("button", name="Sign out").click()
        page.get_by_label("User name").wait_for(timeout=30_000)
        page.reload()
        idle(page)
        page.get_by_label("User name").wait_for(timeout=30_000)
        expect(page.get_by_text("Signed in as")).to_have_count(0)
        assert not [c for c in context.cookies() if c["name"] == "answerdesk_session"]
        assert db.execute(mine, (token_hash(cookie["value"]),)).fetchone() == (0,)
        assert db.execute(theirs, (token_hash(cookie["value"]),)).fetchone() == others
        page.goto(f"{url}/admin")  # signed out, any page's address shows the sign-in form
        idle(page)
        page.get_by_label("User name").wait_for(timeout=30_000)
        screenshot(page, "session-4-signed-out.png")
        browser.close()

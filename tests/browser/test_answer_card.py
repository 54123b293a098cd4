"""The answer card on a laptop screen (issue 13), in real Chromium at 1366x768: the first
lines of the answer and the first steps are visible without scrolling, the question box
keeps the cursor, an empty question says so, and "Open" shows the original at the cited
place: a Word source as its section with the passage marked, a PDF source as its page with
the passage's boxes drawn on it.

Needs Debian's chromium (.ci/run installs it); skipped with a reason when it is missing.
Screenshots: tests/browser/output/card-*.png.
"""

from __future__ import annotations

import io

import pytest

from tests.browser.conftest import CHROMIUM, FLAGS, OUTPUT, ask, idle, sign_in

pytestmark = pytest.mark.integration
WIDTH, HEIGHT = 1366, 768


def opened_source(page, has_text: str):  # type: ignore[no-untyped-def]
    """The source expander holding `has_text`, opened, with its "Open" button clicked."""
    source = page.locator("[data-testid='stExpander']").filter(has_text=has_text).first
    source.scroll_into_view_if_needed()
    source.locator("summary").click()
    page.wait_for_timeout(800)  # the expander opens with an animation; a click during it is lost
    for attempt in range(2):
        source.get_by_role("button", name="Open", exact=True).click()
        try:
            source.locator("iframe").first.wait_for(timeout=20_000)
            break
        except Exception:
            if attempt == 1:
                page.screenshot(path=OUTPUT / "failure-card.png", full_page=True)
                raise
    idle(page)
    return source


def test_answer_above_the_fold_and_the_original_at_the_cited_place(served_app):
    from PIL import Image
    from playwright.sync_api import expect, sync_playwright

    url, _ = served_app
    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        sign_in(page, url, "ana", "agent-passphrase")

        ask(page, "   ")
        expect(page.get_by_text("Type the customer's question first")).to_be_visible(timeout=30_000)

        ask(page, "How do I block a lost debit card?")
        answer = page.locator(".st-key-answer-text [data-testid='stMarkdownContainer'] p").first
        answer.wait_for(timeout=60_000)
        idle(page)
        assert page.evaluate("window.scrollY") == 0
        # The first two lines of the answer and the first step, without scrolling.
        line = float(answer.evaluate("p => parseFloat(getComputedStyle(p).lineHeight)"))
        box = answer.bounding_box()
        assert box is not None and line >= 24  # large type: 1.3rem with 1.45 line height
        assert box["y"] >= 0 and box["y"] + min(2 * line, box["height"]) <= HEIGHT, box
        step = page.locator("[data-testid='stCheckbox']").first
        expect(step).to_contain_text("1. Verify the caller's identity")
        step_box = step.bounding_box()
        assert step_box is not None and step_box["y"] + step_box["height"] <= HEIGHT, step_box
        # ...and the warning-free card puts the answer above the steps, the steps above the badge
        badge = page.get_by_text("Confidence", exact=False).first.bounding_box()
        assert box["y"] < step_box["y"] < badge["y"]
        # The cursor is back in the question box: the next question can be typed at once.
        focused = page.evaluate("document.activeElement?.getAttribute('aria-label')")
        assert focused == "Question"
        page.screenshot(path=OUTPUT / "card-1-above-the-fold.png")

        # A Word source: its section, the passage marked and scrolled into view.
        source = opened_source(page, "Blocking the card")
        frame = source.frame_locator("iframe").first
        mark = frame.locator("#cited mark").first
        expect(mark).to_contain_text("1. Verify the caller's identity")
        assert frame.locator("h4").first.inner_text() == "Procedure > Blocking the card"
        expect(source.get_by_role("button", name="Close the original")).to_be_visible()
        source.locator("iframe").first.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        page.screenshot(path=OUTPUT / "card-2-word-section-marked.png")

        # A PDF source: the cited page (2) as an image, the table's boxes drawn over it.
        ask(page, "fee for a branch wire transfer")
        page.get_by_text("Answer 2 of this call", exact=True).wait_for(timeout=60_000)
        idle(page)
        source = opened_source(page, "Fees, p. 2")
        frame = source.frame_locator("iframe").first
        image = frame.locator("img").first
        expect(image).to_have_attribute("alt", "Page 2, the passage marked")
        assert image.evaluate("img => img.complete && img.naturalWidth") > 800  # about 110 dpi
        assert frame.locator("#cited").count() == 1  # where the frame scrolled to
        shot = Image.open(io.BytesIO(image.screenshot())).convert("RGB")
        outline = sum(
            1
            for r, g, b in shot.getdata()
            if abs(r - 230) < 30 and abs(g - 120) < 40 and b < 60  # the highlight's border
        )
        assert outline > 500, outline
        source.locator("iframe").first.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        page.screenshot(path=OUTPUT / "card-3-pdf-page-marked.png")
        browser.close()

"""Background ingestion in real Chromium (issue 15): a knowledge-team member uploads 30
small files in the Library, which becomes a job and returns at once; she leaves for the Ask
page, comes back, and sees the job complete (30 of 30 files) while it ran in the server.

Needs Debian's chromium (.ci/run installs it); skipped with a reason when it is missing.
Screenshots: tests/browser/output/jobs-*.png.
"""

from __future__ import annotations

import os
import re

import pytest

from tests.browser.conftest import (
    CHROMIUM,
    FLAGS,
    OUTPUT,
    idle,
    require_chromium,
    screenshot,
    sign_in,
    start_app,
    uploaded,
)
from tests.conftest import APP_FILES, APP_USERS, copy_kb

pytestmark = pytest.mark.integration
FILES = 30


@pytest.fixture(scope="module")
def jobs_app(tmp_path_factory, kb_template):
    """The page tests' small base (two lost-card procedures, one person per role), served by
    a server of its own so the 30 new documents never reach the other journeys."""
    require_chromium()
    folder = tmp_path_factory.mktemp("jobs")
    data_dir = copy_kb(kb_template(APP_FILES, APP_USERS), folder / "kb")
    uploads = folder / "uploads"
    uploads.mkdir()
    for i in range(FILES):
        (uploads / f"branch-note-{i:02d}.md").write_text(
            f"# Branch note {i}\n\nBranch {i} opens at {8 + i % 3}:00 and keeps form B-{100 + i}.\n"
        )
    env = {**os.environ, "KB_DATA_DIR": str(data_dir), "KB_FOUR_EYES": "false"}
    server, url = start_app(env)
    yield url, sorted(uploads.iterdir())
    server.terminate()
    server.wait(timeout=20)


def test_thirty_files_become_a_job_that_completes_while_she_is_away(jobs_app):
    from playwright.sync_api import sync_playwright

    url, files = jobs_app
    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        sign_in(page, url, "kim", "knowledge-pass")
        page.get_by_role("link", name="Library").click()
        page.get_by_text("Upload documents").click()
        page.locator("input[type='file']").first.set_input_files([str(f) for f in files])
        uploaded(page, files[0].name)
        page.get_by_role("button", name="Ingest files").click()
        page.get_by_text("started: 30 files are ingested in the background", exact=False).wait_for(
            timeout=60_000
        )
        screenshot(page, "jobs-1-started.png")

        page.get_by_role("link", name="Ask").click()
        page.get_by_label("Question", exact=True).wait_for(timeout=30_000)
        idle(page)
        page.get_by_role("link", name="Library").click()
        page.get_by_text(re.compile(r"Job \d+: complete")).first.wait_for(timeout=120_000)
        idle(page)
        main = page.locator('[data-testid="stMain"]').inner_text()
        assert "30 of 30 files" in main
        assert "30 ingested, 0 failed, 0 skipped, 0 to go." in main
        screenshot(page, "jobs-2-complete.png")
        browser.close()

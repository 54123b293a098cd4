"""The app served on a free port with a small real knowledge base, for the browser journeys.

Needs Debian's chromium (.ci/run installs it); skipped with a reason when it is missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import GOOD, REPO, copy_kb

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
OUTPUT = Path(__file__).parent / "output"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


BROWSER_FILES = tuple(GOOD / name for name in (
    "procedure.docx", "policy.pdf", "page.html", "guide.md", "notes.txt", "deck.pptx", "zh_procedure.pdf",
))  # fmt: skip


@pytest.fixture(scope="session")
def served_app(tmp_path_factory, kb_template):
    require_chromium()
    # What `kb ingest` and `kb users add` would have built, made in this process (two fewer
    # interpreters to start) and copied, so the journeys' uploads never touch the template.
    users = (("ana", "agent", "agent-passphrase"), ("kim", "knowledge", "knowledge-pass"))
    template = kb_template(BROWSER_FILES, users, by="cli")
    data_dir = copy_kb(template, tmp_path_factory.mktemp("browser") / "kb")
    # The journeys upload in the Library and ask at once: four-eyes publishing (drafts a
    # second person approves) has its own journey, tests/browser/test_review.py.
    env = {**os.environ, "KB_DATA_DIR": str(data_dir), "KB_FOUR_EYES": "false"}
    server, url = start_app(env)
    yield url, data_dir
    server.terminate()
    server.wait(timeout=20)


def start_app(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """Serve the app on a free port with `env` (KB_DATA_DIR ...) and wait until it is up."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    return server, url


def require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI: .ci/run should have installed it")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")


def sign_in(page, url: str, name: str, password: str) -> None:
    """Sign in and wait until the app says so and its run is over: a journey's first step
    taken during the sign-in's run could be lost under load."""
    page.goto(url)
    page.get_by_label("User name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("stSidebar").get_by_text("Signed in as").wait_for(timeout=60_000)
    idle(page)


def idle(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until the app's script has finished its run (the "running" widget is gone)."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=60_000)


def open_tab(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """Tracked tabs rerun the page when chosen: wait for that run before using the tab."""
    page.get_by_role("tab", name=name).click()
    idle(page)


def screenshot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """A full-page screenshot once the script has finished and tables and charts are drawn
    (they are canvases and SVG that paint after the elements arrive)."""
    idle(page)
    page.wait_for_timeout(1500)
    page.screenshot(path=OUTPUT / name, full_page=True)


def uploaded(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """Wait until the file has reached the server (its chip, with the name shortened in the
    middle, is shown): submitting the form before that sends no file."""
    chip = page.locator('[data-testid="stFileUploader"]').get_by_text(name[-6:], exact=False)
    chip.first.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)


def submit_until(page, button, outcome: str, attempts: int = 3) -> None:  # type: ignore[no-untyped-def]
    """Click a form's submit button until `outcome` shows. Under load the first click can
    land while a select box's dropdown is still closing and only dismiss it; the actions
    submitted this way are idempotent (assigning twice keeps one assignment)."""
    for attempt in range(attempts):
        idle(page)
        button.click()
        try:
            page.get_by_text(outcome, exact=False).first.wait_for(timeout=20_000)
            return
        except Exception:
            if attempt == attempts - 1:
                page.screenshot(path=OUTPUT / "failure-submit.png", full_page=True)
                raise


def ask(page, question: str, label: str = "Question") -> None:  # type: ignore[no-untyped-def]
    """Type a question into the Ask page's box and press Enter, as an agent does.

    Enter submits the form only once its submit button is drawn and the script's run (after
    sign-in, say) is over: pressed earlier, it was lost under load (clean-clone CI at 5c49c50
    typed "   " and waited 30 s for a warning that never came)."""
    box = page.get_by_label(label, exact=True)
    box.wait_for(timeout=30_000)
    idle(page)
    page.locator('[data-testid="stFormSubmitButton"]').first.wait_for(timeout=30_000)
    box.fill(question)
    box.press("Enter")

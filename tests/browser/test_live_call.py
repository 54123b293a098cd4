"""A live call in real Chromium: the app and the HTTP API over a small knowledge base, an
agent on the Live call page, and a recorded call replayed through the API for that agent
(`kb call simulate --acting-for`). The suggestion and the escalation banner must appear on the
agent's page without them touching anything; ending the call shows the masked summary.

Needs Debian's chromium (.ci/run installs it); skipped with a reason when it is missing.
Screenshots go to tests/browser/output/.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.browser.conftest import (
    CHROMIUM,
    FLAGS,
    OUTPUT,
    _free_port,
    idle,
    require_chromium,
    screenshot,
    sign_in,
    start_app,
)
from tests.conftest import APP_FILES, APP_USERS, REPO, copy_kb

pytestmark = pytest.mark.integration
RECORDING = REPO / "eval" / "data" / "calls" / "zh-lost-card.jsonl"


def start_api(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "kb.cli", "serve", "--port", str(port)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/openapi.json", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    return server, url


def warm_up(url: str, token: str) -> None:
    """Wait until the API has loaded the escalation rules' models (it starts at start-up;
    under load it can take longer than the simulator's request timeout)."""
    import httpx

    response = httpx.post(
        f"{url}/v1/handoff",
        json={"turns": [{"speaker": "customer", "text": "hello"}]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=600,
    )
    assert response.status_code == 200, response.text


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=20)


def test_a_call_replayed_through_the_api_shows_on_the_agents_live_page(tmp_path, kb_template):
    from playwright.sync_api import sync_playwright

    require_chromium()
    # The page tests' base (the lost-card procedure in English and Chinese; ana, an agent),
    # a private copy: parsing the two files again took longer than the journey itself.
    copy_kb(kb_template(APP_FILES, APP_USERS), tmp_path / "kb")
    env = {**os.environ, "KB_DATA_DIR": str(tmp_path / "kb")}
    kb = [sys.executable, "-m", "kb.cli"]
    created = subprocess.run(
        [*kb, "tokens", "create", "stt-bridge", "--role", "assist"],
        env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    token = created.rsplit(":", 1)[-1].strip()
    api, api_url = start_api(env)
    app, url = start_app(env)
    OUTPUT.mkdir(exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            sign_in(page, url, "ana", "agent-passphrase")
            page.get_by_role("link", name="Live call").click()
            page.get_by_text("No open call", exact=False).wait_for(timeout=60_000)
            idle(page)

            warm_up(api_url, token)
            replay = subprocess.run(
                [*kb, "call", "simulate", str(RECORDING), "--speed", "50", "--token", token,
                 "--url", api_url, "--acting-for", "ana", "--keep-open"],
                env=env, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            assert replay.returncode == 0, replay.stderr
            assert "left open" in replay.stdout

            # No click: the page notices the call opened for ana and polls its assist.
            suggestion = page.locator("[class*='st-key-suggestion-']").first
            suggestion.wait_for(timeout=300_000)
            banners = page.locator("[data-testid='stAlertContentWarning']").filter(
                has_text="Escalation: complaint"
            )
            banners.first.wait_for(timeout=60_000)
            said = " ".join(banners.all_inner_texts())
            assert "in turn 6, customer" in said and "我要投诉" in said
            assert page.get_by_text("13812345678").count() == 0  # masked transcript
            transcript = page.locator("[class*='st-key-live-transcript']")
            transcript.get_by_text("我应该怎么挂失", exact=False).wait_for(timeout=30_000)
            assert "挂失" in suggestion.inner_text() or "Lost" in suggestion.inner_text()
            # One click opens the steps with their sources; they stay open across polls.
            suggestion.locator("summary").click()
            source = suggestion.get_by_text("(v1", exact=False).first
            source.wait_for(timeout=30_000)
            page.wait_for_timeout(2500)
            assert source.is_visible()
            suggestion.get_by_role("button", name="Mark used").click()
            suggestion.get_by_role("button", name="Used", exact=True).wait_for(timeout=60_000)
            screenshot(page, "live-call-1-assist.png")

            page.get_by_role("button", name="End call").click()
            page.get_by_text("Call summary").wait_for(timeout=60_000)
            screenshot(page, "live-call-2-summary.png")
            browser.close()
    finally:
        for server in (app, api):
            stop(server)

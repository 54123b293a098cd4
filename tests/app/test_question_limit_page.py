"""The Ask page's question box holds no more than the configured limit."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import GOOD, REPO


@pytest.mark.security
def test_the_question_box_takes_at_most_question_max_chars(services, monkeypatch):
    """Attack: an agent pastes a 100 kB text into the question box; the box must hold at most question_max_chars (2000) characters."""
    monkeypatch.setenv("KB_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.chdir(REPO)
    from ui.shared import get_services

    get_services.clear()
    try:
        services.ingest_paths([GOOD / "notes.txt"])
        services.users.add("ana", "agent", password="agent-passphrase-1")
        app = AppTest.from_file(str(REPO / "ui" / "ask.py"), default_timeout=120)
        app.session_state["user"] = services.users.get("ana")
        app.session_state["language"] = "en"
        app.run()
        box = app.text_input[0]
        assert box.max_chars == services.settings.question_max_chars == 2000
        box.input("x" * 100_000)  # refused by the box, as the browser does
        assert len(box.value or "") <= 2000
    finally:
        get_services.clear()

"""What every page test needs: a private knowledge base the app serves, staff to sign in as,
and a page opened as one of them."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import APP_FILES, APP_USERS, REPO, copy_kb


@pytest.fixture
def served(services, monkeypatch):
    """The test's own services, as the app's pages will find them (KB_DATA_DIR, the repo as
    working folder, the app's cached services cleared before and after)."""
    monkeypatch.setenv("KB_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.chdir(REPO)
    from ui.shared import get_services

    get_services.clear()
    yield services
    get_services.clear()


@pytest.fixture
def app_base(request, kb_template, settings):
    """The lost-card procedure in English (Word) and Chinese (PDF), and one person per role:
    ana (agent), kim (knowledge team), tia (trainer). Each test gets its own copy of one
    base built per session (parsing the two files took most of every page test's time)."""
    copy_kb(kb_template(APP_FILES, APP_USERS), settings.data_dir)
    return request.getfixturevalue("served")


def open_page(services, page: str, name: str, language: str = "en", timeout: int = 240) -> AppTest:
    """`ui/<page>.py` run once, signed in as `name` (set in the session as app.py would)."""
    app = AppTest.from_file(str(REPO / "ui" / f"{page}.py"), default_timeout=timeout)
    app.session_state["user"] = services.users.get(name)
    app.session_state["language"] = language
    return app.run()

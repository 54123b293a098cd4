"""Sessions through the pages (issue 13): sign-in starts a server-side session and sign-out
ends it, a page the role may not use says so without ending it, an idle session ends with a
message, the call kept with a session is masked, and the Admin page's two-step disabling
and account states. No model is loaded: an empty knowledge base."""

from __future__ import annotations

import json
import sqlite3

import pytest
from streamlit.testing.v1 import AppTest

from kb.types import Turn
from tests.conftest import REPO


@pytest.fixture
def desk(tmp_path, monkeypatch):
    """The services the app builds for an empty knowledge base, an agent and an admin."""
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path / "kb"))
    monkeypatch.delenv("KB_DEMO_USERS", raising=False)
    monkeypatch.chdir(REPO)
    from ui.shared import get_services

    get_services.clear()
    services = get_services()
    services.users.add("ana", "agent", password="agent-passphrase")
    services.users.add("root", "admin", password="a long admin passphrase")
    yield services
    get_services.clear()


def sessions_of(services, name: str) -> int:
    from ui.shared import get_sessions

    return get_sessions().sessions_of(name)


def signed_in(name: str, password: str) -> AppTest:
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    app.text_input[0].input(name)
    app.text_input[1].input(password)
    app.button[0].click().run()
    assert not app.exception
    return app


def reasons(services, action: str = "session_end") -> list[str | None]:
    return [e.details.get("reason") for e in services.audit.events(action=action)]


def test_sign_in_starts_a_session_and_sign_out_ends_it_on_the_server(desk):
    app = signed_in("ana", "agent-passphrase")
    assert sessions_of(desk, "ana") == 1
    assert [e.user for e in desk.audit.events(action="session_start")] == ["ana"]
    app.session_state["history"] = [Turn("user", "lost card")]
    app.button(key="sign-out").click().run()
    assert sessions_of(desk, "ana") == 0
    assert reasons(desk) == ["sign_out"]
    assert "user" not in app.session_state and "history" not in app.session_state
    assert [t.label for t in app.text_input] == ["User name", "Password"]


def test_a_page_the_role_may_not_use_says_so_and_the_session_goes_on(desk):
    app = signed_in("ana", "agent-passphrase")
    app.switch_page("ui/admin.py").run()
    assert [e.value for e in app.error] == ["Your role (agent) cannot open this page."]
    assert app.session_state["user"].name == "ana" and sessions_of(desk, "ana") == 1
    app.switch_page("ui/ask.py").run()
    assert not app.error and app.session_state["user"].name == "ana"
    assert reasons(desk) == []


def test_an_idle_session_ends_and_the_sign_in_page_says_why(desk):
    app = signed_in("ana", "agent-passphrase")
    db = sqlite3.connect(desk.settings.sessions_path)
    db.execute("UPDATE sessions SET last_seen = last_seen - 31 * 60")
    db.commit()
    app.run()
    assert "user" not in app.session_state
    assert app.info[0].value == (
        "Your session ended after 30 minutes without activity: please sign in again."
    )
    assert reasons(desk) == ["idle"]
    app.run()
    assert not app.info  # said once


def test_signing_out_in_another_tab_ends_this_tab_too(desk):
    app = signed_in("ana", "agent-passphrase")
    from ui.shared import get_sessions

    assert get_sessions().end(app.session_state["session_token"]) == "ana"
    app.run()
    assert "user" not in app.session_state
    assert [t.label for t in app.text_input] == ["User name", "Password"]


def test_the_call_kept_with_the_session_is_masked(desk):
    app = signed_in("ana", "agent-passphrase")
    app.session_state["history"] = [
        Turn("user", "card 4539 1488 0343 6467 was stolen"),
        Turn("assistant", "Block the card at once."),
    ]
    app.session_state["answered"] = 1
    app.session_state["live_call"] = "call-7"  # the Live call page's current call
    app.radio[0].set_value("中文").run()
    (stored,) = sqlite3.connect(desk.settings.sessions_path).execute(
        "SELECT state_json FROM sessions"
    )
    saved = json.loads(stored[0])
    assert (saved["language"], saved["answered"], saved["live_call"]) == ("zh", 1, "call-7")
    assert [turn["text"] for turn in saved["history"]] == [
        "card [card ****6467] was stolen",
        "Block the card at once.",
    ]
    assert "4539" not in stored[0]


# ---------------------------------------------------------------------- Admin page


def admin_page(services) -> AppTest:
    app = AppTest.from_file(str(REPO / "ui" / "admin.py"), default_timeout=60)
    app.session_state["user"] = services.users.get("root")
    return app.run()


def states(app: AppTest) -> dict[str, tuple[str, bool, int]]:
    table = app.dataframe[0].value
    return {
        row["Name"]: (row["State"], row["Demo account"], row["Open sessions"])
        for _, row in table.iterrows()
    }


def test_disabling_needs_a_second_step_and_ends_the_accounts_sessions(desk):
    from ui.shared import get_sessions

    get_sessions().start("ana")
    get_sessions().start("ana")
    app = admin_page(desk)
    assert states(app)["ana"] == ("active", False, 2)
    next(b for b in app.button if b.label == "Disable account").click().run()
    assert not desk.users.get("ana").disabled
    assert "Disable ana? They are signed out at once" in app.warning[0].value
    next(b for b in app.button if b.label == "Cancel").click().run()
    assert not desk.users.get("ana").disabled and not app.warning
    next(b for b in app.button if b.label == "Disable account").click().run()
    next(b for b in app.button if b.label == "Yes, disable ana").click().run()
    assert desk.users.get("ana").disabled
    assert get_sessions().sessions_of("ana") == 0
    assert app.success[0].value == "Disabled ana."
    assert states(app)["ana"] == ("disabled", False, 0)
    assert reasons(desk) == ["account_disabled"]
    next(b for b in app.button if b.label == "Enable account").click().run()
    assert not desk.users.get("ana").disabled


def test_the_admin_page_shows_lock_out_and_demo_accounts(desk):
    for attempt in range(5):
        desk.users.sign_in("ana", f"wrong guess {attempt}", "10.0.0.9")
    desk.users.add_demo_accounts()
    app = admin_page(desk)
    table = states(app)
    assert table["ana"][0].startswith("locked out until ")
    assert table["agent"] == ("active", True, 0) and table["root"][1] is False
    assert "Demo accounts have random passwords" in app.caption[0].value
    next(s for s in app.selectbox if s.label == "Account").set_value("ana").run()
    assert "ana is locked out after failed sign-ins until" in app.warning[0].value
    next(b for b in app.button if b.label == "Unlock account").click().run()
    assert states(app)["ana"][0] == "active"


def test_following_a_live_call_keeps_the_session_alive_without_a_click(desk):
    """The Live call page's fragment reruns without app.py: ui.shared.keep_alive touches the
    session (at most every 30 s) so an agent watching a call is not signed out meanwhile."""
    from ui.shared import SESSION_TOKEN

    app = signed_in("ana", "agent-passphrase")
    token = app.session_state[SESSION_TOKEN]
    db = sqlite3.connect(desk.settings.sessions_path)
    db.execute("UPDATE sessions SET last_seen = last_seen - 29 * 60")
    db.commit()

    def watching() -> None:  # what the Live call page's fragment does on each rerun
        import streamlit as st

        from ui.shared import keep_alive

        st.session_state["kept"] = keep_alive()

    follower = AppTest.from_function(watching, default_timeout=60)
    follower.session_state[SESSION_TOKEN] = token
    follower.run()
    assert follower.session_state["kept"] is True
    db.execute("UPDATE sessions SET last_seen = last_seen - 2 * 60")  # 2 min later, not 31
    db.commit()
    app.run()
    assert app.session_state["user"].name == "ana" and sessions_of(desk, "ana") == 1

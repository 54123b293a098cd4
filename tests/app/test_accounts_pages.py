"""Accounts through the pages (issue 12): what a failed sign-in leaves in the audit trail,
lock-out at the form, sessions that end when the account changes, the Admin form's password
rule and the demo banner. No model is loaded: these pages only use the account stores."""

from __future__ import annotations

import csv
import io

import pytest
from streamlit.testing.v1 import AppTest

from kb.audit import events_csv
from tests.conftest import REPO

security = pytest.mark.security


@pytest.fixture
def desk(tmp_path, monkeypatch):
    """The services the app builds for an empty knowledge base in tmp_path (no model
    loaded), with an agent and an administrator."""
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path / "kb"))
    monkeypatch.delenv("KB_DEMO_USERS", raising=False)
    monkeypatch.chdir(REPO)
    from ui.shared import get_services

    get_services.clear()
    services = get_services()
    services.users.add("ana", "agent", password="correct horse battery")
    services.users.add("root", "admin", password="a long admin passphrase")
    yield services
    get_services.clear()


def sign_in(name: str, password: str) -> AppTest:
    app = AppTest.from_file(str(REPO / "ui" / "signin.py"), default_timeout=60).run()
    app.text_input[0].input(name)
    app.text_input[1].input(password)
    app.button[0].click().run()
    assert not app.exception
    return app


def page(name: str, services, user: str) -> AppTest:
    app = AppTest.from_file(str(REPO / "ui" / f"{name}.py"), default_timeout=60)
    app.session_state["user"] = services.users.get(user)
    return app.run()


@security
def test_what_is_typed_as_a_name_at_a_failed_sign_in_is_not_stored(desk):
    """Attack: type a card number (or one's password) as the user name; read the audit trail."""
    sign_in("4539 1488 0343 6467", "whatever")
    sign_in("Hunter2!Secret", "ana")
    sign_in("ana", "not her password")
    failed = desk.audit.events(action="sign_in_failed")
    stored = " ".join(f"{e.user} {e.details}" for e in failed)
    assert "4539" not in stored and "Hunter2" not in stored
    assert failed[0].user == "ana"  # newest first; an account's own name is kept
    assert all(e.user.startswith("unknown:") for e in failed[1:])


@security
def test_a_formula_typed_at_the_sign_in_form_is_not_live_in_the_export(desk):
    """Attack: type =HYPERLINK("http://evil.example","Click") as the user name at sign-in,
    then open the audit CSV export in a spreadsheet."""
    desk.users.add('=HYPERLINK("http://evil.example","Click")', "agent")  # even as an account
    sign_in('=HYPERLINK("http://evil.example","Click")', "whatever")
    sign_in('=HYPERLINK("http://evil.example/2","Click")', "whatever")
    rows = list(csv.reader(io.StringIO(events_csv(desk.audit.events()))))
    assert len(rows) == 3 and rows[2][2] == "'" + '=HYPERLINK("http://evil.example","Click")'
    assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@")]


@security
def test_the_form_locks_after_repeated_failures_and_says_so(desk):
    """Attack: 6 wrong passwords at the sign-in form, then the right one."""
    for attempt in range(6):
        app = sign_in("ana", f"guess {attempt}")
    app = sign_in("ana", "correct horse battery")
    assert "user" not in app.session_state
    assert "Too many failed attempts" in app.error[0].value
    locked = desk.audit.events(action="account_locked")
    assert [(e.user, e.details["failures"]) for e in locked] == [("ana", 5)]
    assert desk.users.unlock("ana")
    assert "user" in sign_in("ana", "correct horse battery").session_state


@security
def test_a_disabled_users_open_session_stops_at_once(desk):
    """Attack: keep using an open session after an administrator disabled the account."""
    app = page("admin", desk, "root")
    assert not app.error
    desk.users.add("root2", "admin")
    desk.users.set_disabled("root")
    app.run()
    assert [e.value for e in app.error] == ["Please sign in."]
    assert "user" not in app.session_state


@security
def test_a_demoted_users_open_session_loses_the_role_at_once(desk):
    """Attack: keep using the Admin page in a session opened before being demoted to agent."""
    app = page("admin", desk, "root")
    assert [t.value for t in app.title] == ["Admin"]
    desk.users.update("root", role="agent")
    app.run()
    assert "Your role (agent) cannot open this page." in [e.value for e in app.error]
    assert app.session_state["user"].role == "agent"


@security
def test_the_admin_form_gives_no_account_an_empty_password(desk):
    """Attack: add an account on the Admin page with the password left empty, sign in with ""."""
    app = page("admin", desk, "root")
    fields = {t.label: t for t in app.text_input}
    fields["Name"].input("eve")
    fields["Access groups (comma-separated)"].input("fraud-team")
    app.button(key="FormSubmitter:add-user-Add user").click().run()
    assert not app.exception and not app.error
    assert desk.users.get("eve").groups == ("fraud-team",)
    assert desk.users.authenticate("eve", "") is None
    fields = {t.label: t for t in app.text_input}
    fields["Name"].input("mallory")
    fields["Initial password"].input("x")
    app.button(key="FormSubmitter:add-user-Add user").click().run()
    assert "at least 12 characters" in app.error[0].value
    assert [u.name for u in desk.users.list()] == ["ana", "eve", "root"]


def test_a_banner_says_while_demo_accounts_exist(desk, monkeypatch):
    from ui.shared import get_services

    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    assert not app.warning
    desk.users.add_demo_accounts()
    app.run()
    assert "Demo accounts exist (agent, knowledge, trainer, admin)" in app.warning[0].value
    get_services.clear()  # a restart with the flag off removes them
    app.run()
    assert not app.warning
    assert get_services().users.demo_accounts() == []


@security
def test_the_admin_page_checks_the_seal_on_each_visit_and_the_whole_trail_on_request(desk):
    """Attack: edit an old event straight in the database (without re-computing the chain).
    The seal cannot show that; the whole-trail check the administrator runs does."""
    for n in range(5):
        desk.audit.record(f"user{n}", "sign_in")
    app = page("admin", desk, "root")
    assert "The seal matches the trail's last event." in [c.value for c in app.caption]
    app.button(key="verify-audit").click().run()
    assert any(c.value.startswith("Audit trail intact (every event") for c in app.caption)

    db = desk.audit.db
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("UPDATE audit SET \"user\" = 'eve' WHERE id = 2")
    del app.session_state["audit-verified"]  # a new visit: nothing verified yet
    app.run()
    assert not app.error  # the seal alone cannot see an edit inside the trail
    app.button(key="verify-audit").click().run()
    assert [e.value for e in app.error] == ["Audit trail broken at event 2!"]
    assert "the event was edited" in " ".join(x.value for x in app.text)

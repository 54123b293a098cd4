"""The app's pages with AppTest: sign-in, roles, the Ask page, the Library page."""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from kb.access import OPERATOR
from tests.conftest import REPO

pytestmark = pytest.mark.integration


def signed_in(name: str, password: str) -> AppTest:
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=90).run()
    app.text_input[0].input(name)
    app.text_input[1].input(password)
    app.button[0].click().run()
    assert not app.exception
    return app


def test_wrong_password_is_refused_and_audited(app_base):
    app = signed_in("ana", "nope")
    assert "Wrong user name or password" in app.error[0].value
    assert app_base.audit.events(action="sign_in_failed")


def test_agent_asks_and_sees_steps_sources_and_gives_feedback(app_base):
    app = signed_in("ana", "agent-passphrase")
    assert [t.value for t in app.title] == ["Ask"]
    question = next(t for t in app.text_input if t.label == "Question")
    question.input("How do I block a lost debit card?")
    app.button(key="FormSubmitter:ask-Ask").click().run()
    assert not app.exception
    steps = [c.label for c in app.checkbox]
    assert steps[0].startswith("1. Verify the caller") and len(steps) >= 5
    assert any("Reporting a Lost or Stolen Debit Card" in e.label for e in app.expander)
    next(b for b in app.button if b.label == "Helpful").click().run()
    assert app_base.feedback.all()[0].helpful
    assert {e.action for e in app_base.audit.events(user="ana")} >= {
        "sign_in",
        "question",
        "answer_shown",
        "feedback",
    }


def test_agent_never_gets_the_library(app_base):
    app = signed_in("ana", "agent-passphrase")
    app.switch_page("ui/library.py").run()  # by URL: registered, hidden from her menu
    assert "cannot open this page" in app.error[0].value
    assert app.session_state["user"].name == "ana"  # and she stays signed in
    library = AppTest.from_file(str(REPO / "ui" / "library.py"), default_timeout=60)
    library.session_state["user"] = app_base.users.get("ana")
    library.run()
    assert "cannot open this page" in library.error[0].value


def test_knowledge_team_sees_the_library(app_base):
    library = AppTest.from_file(str(REPO / "ui" / "library.py"), default_timeout=60)
    library.session_state["user"] = app_base.users.get("kim")
    library.run()
    assert not library.exception
    titles = sorted(library.dataframe[0].value["Title"])
    assert titles == ["Reporting a Lost or Stolen Debit Card", "借记卡挂失及补卡操作规程"]


def page(name: str, services, user_name: str) -> AppTest:
    app = AppTest.from_file(str(REPO / "ui" / f"{name}.py"), default_timeout=90)
    app.session_state["user"] = services.users.get(user_name)
    return app.run()


def test_knowledge_team_edits_metadata_and_deletes(app_base):
    # kim moves the procedure to cards-team: a group of hers, or she could no longer open it
    app_base.users.update("kim", groups=("cards-team",))
    library = page("library", app_base, "kim")
    document = next(s for s in library.selectbox if s.label == "Document")
    document.set_value("procedure").run()
    groups = next(t for t in library.text_input if t.label == "Access groups")
    groups.input("cards-team")
    library.button(key="FormSubmitter:metadata-Save metadata").click().run()
    assert app_base.document("procedure", reader=OPERATOR).groups == ("cards-team",)
    next(c for c in library.checkbox if c.label.startswith("Yes, delete")).check().run()
    next(b for b in library.button if b.label == "Delete document").click().run()
    assert "procedure" not in {d.document_id for d in app_base.documents(reader=OPERATOR)}
    assert {e.action for e in app_base.audit.events(user="kim")} >= {"metadata_edit", "deletion"}


def test_admin_sees_users_and_the_audit_trail_and_others_do_not(app_base):
    app_base.users.add("root", "admin", password="admin-passphrase")
    app_base.audit.record("ana", "question", question="card 4539 1488 0343 6467 stolen")
    admin = page("admin", app_base, "root")
    assert not admin.exception
    names = set(admin.dataframe[0].value["Name"])
    assert {"ana", "kim", "root"} <= names
    trail = admin.dataframe[1].value
    assert "question" in set(trail["Action"])
    assert "4539" not in str(trail["Details"].tolist())
    assert admin.caption[-1].value == "The seal matches the trail's last event."
    admin.button(key="verify-audit").click().run()
    assert "intact" in admin.caption[-1].value
    refused = page("admin", app_base, "kim")
    assert "cannot open this page" in refused.error[0].value


def test_admin_changes_a_role_and_groups_and_disables_an_account(app_base):
    app_base.users.add("root", "admin", password="admin-passphrase")
    admin = page("admin", app_base, "root")
    next(s for s in admin.selectbox if s.label == "Account").set_value("ana").run()
    role = next(s for s in admin.selectbox if s.label == "Role of this account")
    role.set_value("knowledge")  # inside a form: sent with the submit, not on its own
    next(t for t in admin.text_input if t.label == "Groups of this account").input("fraud-team")
    admin.button(key="FormSubmitter:edit-user-Save account").click().run()
    assert not admin.exception
    ana = app_base.users.get("ana")
    assert (ana.role, ana.groups) == ("knowledge", ("fraud-team",))
    next(b for b in admin.button if b.label == "Disable account").click().run()
    assert not app_base.users.get("ana").disabled  # a second, explicit step first
    next(b for b in admin.button if b.label == "Yes, disable ana").click().run()
    assert app_base.users.get("ana").disabled
    changes = [
        e.details.get("change") for e in app_base.audit.events(user="root", action="user_change")
    ]
    assert changes == ["disabled", "role and groups"]


def test_interface_switches_to_chinese_for_labels_and_messages(app_base):
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=90).run()
    app.radio[0].set_value("中文").run()
    assert [t.label for t in app.text_input] == ["用户名", "密码"]
    app.text_input[0].input("ana")
    app.text_input[1].input("agent-passphrase")
    app.button[0].click().run()
    assert [t.value for t in app.title] == ["提问"]
    question = next(t for t in app.text_input if t.label == "问题")
    question.input("how do I bake sourdough bread")
    app.button(key="FormSubmitter:ask-提问").click().run()
    assert not app.exception
    assert app.error[0].value == "知识库未涵盖：请升级处理。"
    assert any("请勿猜测" in m.value for m in app.markdown)  # the core's advice, in Chinese
    app.radio[0].set_value("English").run()
    assert app.error[0].value == "Not covered in the knowledge base: escalate."


def test_library_flags_review_due_and_filters_by_status(app_base):
    from kb.types import DocumentOptions

    app_base.update_metadata(
        "procedure", DocumentOptions(review_by=dt.date(2026, 1, 1)), reader=OPERATOR
    )
    library = page("library", app_base, "kim")
    table = library.dataframe[0].value
    status = dict(zip(table["Id"], table["Status"], strict=True))
    assert status["procedure"] == "review due"
    assert "1 documents are past their review-by date." in library.warning[0].value
    next(s for s in library.selectbox if s.label == "Status").set_value("review due").run()
    assert list(library.dataframe[0].value["Id"]) == ["procedure"]


def test_sign_in_offers_the_identity_provider_when_one_is_configured(app_base, monkeypatch):
    monkeypatch.setenv("KB_AUTH_PROVIDER", "bank-sso")
    monkeypatch.setenv("KB_ALLOW_LOCAL_SIGN_IN", "false")
    from ui.shared import get_services

    get_services.clear()
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=90).run()
    assert [b.label for b in app.button] == ["Sign in with bank-sso"]
    assert app.text_input.len == 0  # local passwords are off

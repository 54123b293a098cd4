"""The Escalation rules page with AppTest: the table, a new version saved through the rule
store (audited), a bad pattern refused with a message, disable, history, and "try it"."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import open_page

pytestmark = pytest.mark.integration


def rules_page(services, name: str = "kim", language: str = "en") -> AppTest:
    return open_page(services, "rules", name, language)


def field(app: AppTest, kind: str, label: str):  # type: ignore[no-untyped-def]
    return next(w for w in getattr(app, kind) if w.label == label)


def save(app: AppTest, rule_id: str) -> AppTest:
    app.button(key=f"FormSubmitter:rule-{rule_id}-Save as a new version").click().run()
    assert not app.exception, app.exception
    return app


def test_the_table_and_a_new_version_of_a_rule(app_base):
    app = rules_page(app_base)
    assert not app.exception
    table = app.dataframe[0].value
    assert "complaint.expressed" in set(table["Id"])
    assert {"Id", "Category", "Severity", "Version", "Enabled"} <= set(table.columns)

    field(app, "selectbox", "Rule").set_value("complaint.expressed").run()
    english = field(app, "text_area", "Phrases in English (one a line)")
    assert "complaint" in english.value.splitlines()
    assert "投诉" not in english.value
    english.input(english.value + "\nutter shambles")
    field(app, "selectbox", "Severity").set_value("high")
    field(app, "selectbox", "Procedure (a document of the knowledge base)").set_value(
        "Reporting a Lost or Stolen Debit Card (procedure)"
    )
    save(app, "complaint.expressed")
    assert "Saved complaint.expressed as version 2." in app.success[0].value
    rule = app_base.escalation_rules().current().rule("complaint.expressed")
    assert rule.version == 2 and rule.severity == "high" and rule.procedure == "procedure"
    before = app_base.escalation_rules().history("complaint.expressed")[0].rule
    assert rule.phrases == (*before.phrases, "utter shambles")
    changes = app_base.audit.events(user="kim", action="escalation_rule_change")
    assert changes[-1].details["rule"] == "complaint.expressed"

    history = app.dataframe[1].value
    assert list(history["Version"]) == [2, 1]
    assert list(history["Author"]) == ["kim", "system"]


def test_a_bad_pattern_is_refused_with_a_message(app_base):
    app = rules_page(app_base)
    field(app, "text_input", "Rule id").input("complaint.manager")
    field(app, "text_input", "Category").input("complaint")
    field(app, "text_area", "Action for the agent").input("Offer a call back from a manager.")
    field(app, "text_area", "Patterns (regular expressions, one a line)").input("speak to (a|the")
    save(app, "(new rule)")
    assert "Not saved:" in app.error[0].value and "is not valid" in app.error[0].value
    assert "complaint.manager" not in {r.id for r in app_base.escalation_rules().current().rules}

    field(app, "text_area", "Patterns (regular expressions, one a line)").input(
        r"speak to (a|the) manager"
    )
    save(app, "(new rule)")
    assert "Saved complaint.manager as version 1." in app.success[0].value


def test_try_it_says_which_rules_fire_and_why_and_disable(app_base):
    app = rules_page(app_base)
    field(
        app, "text_area", next(a.label for a in app.text_area if a.label.startswith("A sentence"))
    ).input("agent: how can I help?\ncustomer: I want to make a formal complaint about this")
    app.button(key="FormSubmitter:try-it-Run the rules").click().run()
    assert not app.exception
    fired = [w.value for w in app.warning]
    assert any(
        "**complaint.expressed**" in w and "turn 2" in w and "“formal complaint” by phrase" in w
        for w in fired
    ), fired

    field(app, "selectbox", "Rule").set_value("complaint.expressed").run()
    next(b for b in app.button if b.label == "Disable complaint.expressed").click().run()
    assert not app.exception
    assert "Disabled complaint.expressed (version 2)." in app.success[0].value
    assert not app_base.escalation_rules().current().rule("complaint.expressed").enabled


def test_the_page_in_chinese_and_not_for_agents(app_base):
    app = rules_page(app_base, language="zh")
    assert not app.exception
    assert [t.value for t in app.title] == ["升级规则"]
    assert "严重程度" in app.dataframe[0].value.columns
    field(app, "selectbox", "规则").set_value("complaint.zh").run()
    assert "投诉" in field(app, "text_area", "中文短语（每行一个）").value.splitlines()
    assert field(app, "text_area", "英文短语（每行一个）").value == ""
    refused = rules_page(app_base, name="ana")
    assert "cannot open this page" in refused.error[0].value

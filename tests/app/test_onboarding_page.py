"""The Onboarding page with AppTest: a trainer generates, reviews, maps a call drill, builds
and assigns a path; an agent works through it and sees the score with the source."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from kb import onboarding
from kb.training.types import PathItem
from tests.app.conftest import open_page

pytestmark = pytest.mark.integration

TIA = ("everyone",)  # the trainer's access groups
TRAINER_TABS = ["Topics", "Exercises", "Call drills", "Learning paths", "Dashboard"]


def page(services, user_name: str, language: str = "en") -> AppTest:
    return open_page(services, "onboarding", user_name, language, timeout=90)


def express_fee(services):
    """The fill-in "For Express replacement, Fee is ____." (answer HKD 100)."""
    return next(
        e
        for e in onboarding.exercises(services, kind="fill", document_id="procedure", groups=TIA)
        if e.payload.answer == "HKD 100"
    )


def widget(widgets, label: str):
    return next(w for w in widgets if w.label == label)


def test_trainer_generates_reviews_maps_a_drill_and_assigns_a_path(app_base):
    app = page(app_base, "tia")
    assert not app.exception
    assert [tab.label for tab in app.tabs] == TRAINER_TABS
    widget(app.button, "Generate from the knowledge base").click().run()
    assert not app.exception
    assert app.success[0].value.startswith("Exercises: ")
    assert "found in the documents in force; left out: " in app.success[0].value
    # Bulk approval covers the page the trainer sees (at most 20), with its count.
    [approve_page] = [b for b in app.button if b.label.startswith("Approve the ")]
    shown = len(onboarding.exercises(app_base, groups=TIA))
    assert approve_page.label == f"Approve the {min(shown, 20)} on this page"
    assert not any(b.label.startswith("Approve all") for b in app.button)
    assert {e.status for e in onboarding.exercises(app_base, groups=TIA)} == {"draft"}

    express = express_fee(app_base)
    widget(app.selectbox, "Kind").set_value("fill").run()
    widget(app.selectbox, "Exercise").set_value(express.id).run()
    assert any("HKD 100" in m.value for m in app.markdown)  # the answer, shown for review
    assert any(
        c.value.startswith("Source: Reporting a Lost or Stolen Debit Card") for c in app.caption
    )
    app.button(key="approve-one").click().run()
    assert not app.exception
    assert onboarding.exercise(app_base, express.id).status == "approved"

    widget(app.selectbox, "Intent category").set_value("Lost or stolen card").run()
    message = widget(app.selectbox, "Customer message")
    message.set_value("My card is lost! What can I do?").run()
    document = widget(app.selectbox, "Document that answers it")
    assert document.value == "★ Reporting a Lost or Stolen Debit Card"  # retrieval's suggestion
    widget(app.button, "Create call drill").click().run()
    [(mapping, drill)] = onboarding.drills(app_base, TIA)
    assert (mapping.document_id, drill.status) == ("procedure", "draft")

    app.button(key="FormSubmitter:path-Create path").click().run()
    assert "Give the learning path a name." in app.error[0].value  # the domain error, shown
    widget(app.text_input, "Path name").input("Lost cards, week 1")
    readings = widget(app.multiselect, "Documents and procedures to read")
    readings.set_value(["document: Reporting a Lost or Stolen Debit Card"])
    exercises = widget(app.multiselect, "Approved exercises")
    exercises.set_value([o for o in exercises.options if "Express replacement" in o])
    app.button(key="FormSubmitter:path-Create path").click().run()
    assert not app.exception
    [path] = onboarding.paths(app_base)
    assert [item.ref for item in path.items] == ["procedure", express.id]

    widget(app.multiselect, "Agents").set_value(["ana"])
    app.button(key="FormSubmitter:assign-Assign").click().run()
    assert not app.exception
    assert onboarding.assigned(app_base) == {path.id: ["ana"]}
    dashboard = app.dataframe[-1].value  # the dashboard's table for the new path
    assert list(dashboard["Trainee"]) == ["ana"]
    changes = {e.details["change"] for e in app_base.audit.events(user="tia")}
    assert {"generated", "approved", "drill_mapped", "path_created", "assigned"} <= changes

    # The exercise is on a path: discarding it is refused with the reason, on the page.
    widget(app.selectbox, "Exercise").set_value(express.id).run()
    app.button(key="discard-one").click().run()
    assert any("Still used by a learning path" in e.value for e in app.error)
    assert onboarding.exercise(app_base, express.id).status == "approved"
    # Edit the path: keep only the exercise, renamed.
    items = widget(app.multiselect, "Items, in order")
    items.set_value([o for o in items.value if "Express replacement" in o])
    name = [w for w in app.text_input if w.label == "Path name"][-1]
    name.input("Lost cards, week 1 (short)")
    app.button(key=f"FormSubmitter:edit-path-{path.id}-Save path").click().run()
    assert not app.exception
    edited = onboarding.paths(app_base)[0]
    assert (edited.name, [i.ref for i in edited.items]) == (
        "Lost cards, week 1 (short)",
        [express.id],
    )


def test_agent_answers_a_fill_in_and_sees_score_and_source(app_base):
    onboarding.generate(app_base, "tia")
    express = express_fee(app_base)
    onboarding.approve(app_base, [express.id], "tia")
    path = onboarding.create_path(
        app_base,
        "Lost cards, week 1",
        [PathItem("document", "procedure", "Lost cards"), PathItem("exercise", express.id, "")],
        "tia",
    )
    onboarding.assign(app_base, path.id, ["ana"], "tia")

    app = page(app_base, "ana")
    assert not app.exception
    assert [tab.label for tab in app.tabs] == ["My learning paths", "Topics"]
    assert not any(b.label == "Generate from the knowledge base" for b in app.button)
    assert widget(app.selectbox, "Learning path").value == "Lost cards, week 1"
    widget(app.text_input, "Your answer").input("hkd 100")
    app.button(key=f"FormSubmitter:fill-item-{path.id}-2-Check").click().run()
    assert not app.exception
    assert app.metric[0].label == "Your score" and app.metric[0].value == "100%"
    assert any(
        c.value.startswith("Source: Reporting a Lost or Stolen Debit Card > Procedure > ")
        and "v1" in c.value
        for c in app.caption
    )
    source = widget(app.expander, "Source text, as the document has it")
    assert "Express replacement" in source.text[0].value  # the verbatim passage
    app.button(key=f"item-{path.id}-1-read").click().run()
    assert app.get("progress")[0].value == 100  # both items done
    assert [e.action for e in app_base.audit.events(user="ana")] == ["training_attempt"] * 2

    refused = page(app_base, "kim")
    assert "cannot open this page" in refused.error[0].value


def test_page_speaks_chinese(app_base):
    app = page(app_base, "tia", language="zh")
    assert not app.exception
    assert app.title[0].value == "新人培训"
    assert [tab.label for tab in app.tabs] == ["主题", "练习", "来电演练", "学习路径", "看板"]
    assert any(b.label == "从知识库生成练习" for b in app.button)


def test_agent_orders_steps_and_does_a_call_drill_and_the_trainer_sees_it(app_base):
    onboarding.generate(app_base, "tia")
    drill = onboarding.map_drill(
        app_base, "My card is lost! What can I do?", "procedure", "tia", TIA
    )
    order = onboarding.exercises(app_base, kind="order", document_id="procedure", groups=TIA)[0]
    onboarding.approve(app_base, [order.id, drill.id], "tia")
    path = onboarding.create_path(
        app_base,
        "Blocking cards",
        [PathItem("exercise", order.id, ""), PathItem("exercise", drill.id, "")],
        "tia",
    )
    onboarding.assign(app_base, path.id, ["ana"], "tia")

    app = page(app_base, "ana")
    assert not app.exception
    steps, presented = order.payload.steps, order.payload.presented

    def put_in_order(wanted) -> None:  # one number box per presented step: its position
        for n, step in enumerate(presented, 1):
            box = app.number_input(key=f"item-{path.id}-1-position-{n}")
            box.set_value(wanted.index(step) + 1 if step in wanted else 1)
        app.button(key=f"FormSubmitter:order-item-{path.id}-1-Check").click().run()
        assert not app.exception

    # Blocking the card before verifying the caller: a safety step out of order scores 0
    # and the page names the two steps.
    put_in_order([steps[1], steps[0], *steps[2:]])
    assert app.metric[0].value == "0%"
    assert any(
        e.value.startswith(f"You put “{steps[1][:40]}") and "must come first" in e.value
        for e in app.error
    )
    put_in_order([steps[0], steps[0], *steps[2:]])  # the same position twice: refused
    assert any("different position from 1 to" in e.value for e in app.error)
    put_in_order(list(steps))
    assert app.metric[0].value == "100%"

    widget(app.selectbox, "Which document answers this?").set_value(
        "Reporting a Lost or Stolen Debit Card"
    ).run()
    steps = widget(app.multiselect, "Steps to follow, in order")
    steps.set_value(list(drill.payload.steps[:2])).run()  # the right document, 2 of 5 steps
    app.button(key=f"item-{path.id}-2-check").click().run()
    assert not app.exception
    assert [m.value for m in app.metric] == ["100%", "70%"]
    assert "Not quite" in app.warning[0].value

    trainer = page(app_base, "tia")
    assert not trainer.exception
    progress = next(d.value for d in trainer.dataframe if "Completion" in d.value.columns)
    assert progress.to_dict("records")[0] | {"Last activity": None} == {
        "Trainee": "ana", "Done": 2, "Total": 2, "Completion": "100%", "Mean score": "85%",
        "Attempts": 3, "Last activity": None,
    }  # fmt: skip

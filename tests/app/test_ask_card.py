"""The Ask page's answer card in reading order (issue 13): warnings first, then the question
as understood, the answer, the steps, a small confidence badge, the sources; an empty
question says so; the feedback reason starts empty for each answer; "Open" shows the cited
section with the passage marked, audited; a question the base does not cover leads with
the escalation."""

from __future__ import annotations

from tests.app.conftest import open_page

# A question longer than the embedding model reads in one pass: its answer carries the
# "only the first part was searched" warning (and, so diluted, the low-confidence one).
LONG = "How do I block a lost debit card? " + "x y z " * 300


def walk(node):  # type: ignore[no-untyped-def]
    """Every element and block under `node`, in the order the page shows them."""
    for child in node.children.values():
        yield child
        if hasattr(child, "children"):
            yield from walk(child)


def first(shown: list, test) -> int:  # type: ignore[no-untyped-def]
    return next(i for i, element in enumerate(shown) if test(element))


def ask(page, text: str):  # type: ignore[no-untyped-def]
    next(t for t in page.text_input if t.label == "Question").input(text)
    return page.button(key="FormSubmitter:ask-Ask").click().run()


def test_the_card_reads_in_order_and_each_answer_starts_clean(app_base):
    page = open_page(app_base, "ask", "ana")
    ask(page, "   ")
    assert [w.value for w in page.warning] == [
        "Type the customer's question first, then press Enter."
    ]
    assert not page.checkbox and not page.expander  # nothing was asked

    ask(page, LONG)
    assert not page.exception
    shown = list(walk(page.main))
    warning = first(shown, lambda e: e.type == "warning" and "too long" in e.value)
    question = first(shown, lambda e: e.type == "markdown" and e.value.startswith("**Question:**"))
    answer = first(shown, lambda e: e.type == "flex_container" and e.key == "answer-text")
    step = first(shown, lambda e: e.type == "checkbox")
    badge = first(shown, lambda e: e.type == "markdown" and "badge[Confidence" in e.value)
    source = first(shown, lambda e: e.type == "expander")
    assert warning < question < answer < step < badge < source, (
        warning, question, answer, step, badge, source,
    )  # fmt: skip
    assert "Use this procedure when a customer calls" in shown[answer + 1].value
    assert shown[step].label.startswith("1. Verify the caller")
    assert not [e for e in shown if e.type == "metric"]  # no big confidence number
    assert any(c.value.startswith("You typed: How do I block") for c in page.caption)

    page.text_input(key="feedback-reason-1").input("wrong fee quoted").run()
    page.button(key="view-1-2").click().run()  # Open: the section, the passage marked
    assert not page.exception
    frames = [e for e in walk(page.main) if e.type == "iframe"]
    assert len(frames) == 1
    section = frames[0].proto.srcdoc
    assert "<mark>1. Verify the caller&#x27;s identity" in section and 'id="cited"' in section
    assert page.button(key="view-1-2").label == "Close the original"
    opened = app_base.audit.events(action="open_original")
    assert len(opened) == 1 and opened[0].user == "ana"

    ask(page, "How much does express replacement cost?")
    assert [t.value for t in page.text_input if t.key and t.key.startswith("feedback")] == [""]
    assert page.text_input(key="feedback-reason-2").value == ""
    assert not [e for e in walk(page.main) if e.type == "iframe"]  # the next answer: closed


def test_a_question_the_base_does_not_cover_leads_with_the_escalation(app_base):
    page = open_page(app_base, "ask", "ana")
    ask(page, "What is the best sourdough bread recipe for a rye starter?")
    assert not page.exception
    shown = list(walk(page.main))
    escalate = first(shown, lambda e: e.type == "error" and "Not covered" in e.value)
    question = first(shown, lambda e: e.type == "markdown" and e.value.startswith("**Question:**"))
    assert escalate < question
    assert not page.checkbox and not [e for e in shown if "badge[" in str(getattr(e, "value", ""))]

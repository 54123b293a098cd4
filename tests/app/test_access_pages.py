"""The pages as people outside a restricted document's group (issue 12): the Library, the
Onboarding tabs and the Insights page never show its title or text, and content (document
text, agents' questions) is shown as text, never as live links or fetched images."""

from __future__ import annotations

import tomllib

import pytest
from streamlit.testing.v1 import AppTest

from ingest.pipeline import Upload
from kb import onboarding
from kb.access import OPERATOR, RESTRICTED_READER
from kb.training.types import PathItem
from kb.types import DocumentOptions, Query
from tests.app.conftest import open_page
from tests.conftest import APP_FILES, APP_USERS, GOOD, REPO, copy_kb

pytestmark = pytest.mark.integration

RESTRICTED = b"""Mule Account Ring Playbook

Freezing a lost or stolen debit card used by a mule ring
1. Freeze the lost card and every account in the ring with code ZEBRAFISH-7731.
2. Report the stolen card to the fraud desk on extension 5150.
3. Do not tell the customer that the card is part of an investigation.
"""
TITLE = "Mule Account Ring Playbook"
SECRET = "ZEBRAFISH"
LINK = "[click here](https://evil.example)"
IMAGE = "![x](https://tracker.example/p.png)"
PHISHING = f"""Replacing a damaged card

To replace a damaged debit card, read {LINK} and {IMAGE} first.
Then order the replacement card at the branch counter.
""".encode()
KINDS = (
    "title", "header", "subheader", "markdown", "caption", "text", "code", "info", "warning",
    "error", "success", "exception", "metric", "expander", "tabs", "selectbox", "multiselect",
    "radio", "checkbox", "button", "text_input", "text_area", "dataframe", "table", "json",
)  # fmt: skip


def everything(app: AppTest) -> str:
    """Every value, label and option of every element on the page, as one text."""
    out: list[str] = []
    for kind in KINDS:
        for element in app.get(kind):
            for attribute in ("value", "label", "options", "body"):
                try:
                    value = getattr(element, attribute)
                except Exception:  # not every element has every attribute
                    continue
                out.append(value.to_csv() if hasattr(value, "to_csv") else str(value))
    return "\n".join(out)


def markdown_sources(app: AppTest) -> list[str]:
    """What the page hands to Markdown: where a link or image would come alive."""
    kinds = ("markdown", "caption", "info", "warning", "error", "success", "title", "subheader")
    found = [str(e.value) for kind in kinds for e in app.get(kind)]
    found += [str(e.label) for kind in ("expander", "checkbox") for e in app.get(kind)]
    return found


@pytest.fixture(scope="module")
def restricted_template(tmp_path_factory, kb_template, embedder):
    """app_base (public lost-card procedure; ana, kim, tia) plus the fraud team's playbook on
    the same subject, used by a fraud-team trainer's drill and path assigned to ana, and
    asked about by a fraud-team agent: built once for the module (it took each test 10-25 s)
    and copied for each test by `restricted_base`."""
    from kb.config import Settings
    from kb.services import Services
    from kb.store import KnowledgeBase

    folder = copy_kb(kb_template(APP_FILES, APP_USERS), tmp_path_factory.mktemp("access") / "kb")
    settings = Settings(data_dir=folder)
    services = Services(settings, KnowledgeBase(settings, embedder))
    try:
        return folder, add_restricted(services)
    finally:
        services.close()


def add_restricted(services) -> str:  # type: ignore[no-untyped-def]
    """The playbook, its readers and its uses, added to `services`; returns its id."""
    report = services.ingest(
        [Upload("mule-ring.txt", data=RESTRICTED)], DocumentOptions(groups=("fraud-team",))
    )
    restricted = report.files[0].document_id
    assert services.document(restricted, reader=OPERATOR).title == TITLE
    services.users.add("fay", "agent", ("fraud-team",))
    services.users.add("tom", "trainer", ("fraud-team",))
    services.users.add("rex", "knowledge", (RESTRICTED_READER,))
    fay = services.users.get("fay").access_groups
    services.ask(Query("what code freezes a mule ring card", groups=fay), user="fay")
    onboarding.generate(services, "tom")
    tom = services.users.get("tom").access_groups
    drill = onboarding.map_drill(
        services, "My card is lost! What can I do?", restricted, "tom", tom
    )
    onboarding.approve(services, [drill.id], "tom")
    path = onboarding.create_path(
        services,
        "Week 1",
        [PathItem("document", restricted, TITLE), PathItem("exercise", drill.id, "")],
        "tom",
    )
    onboarding.assign(services, path.id, ["ana"], "tom")
    return restricted


@pytest.fixture
def restricted_base(request, restricted_template, settings):
    """This test's own copy of the module's restricted base, served to the pages."""
    folder, restricted = restricted_template
    copy_kb(folder, settings.data_dir)
    services = request.getfixturevalue("served")
    services.restricted_id = restricted
    return services


@pytest.mark.security
def test_the_library_lists_restricted_documents_only_as_a_count(restricted_base):
    """Attack: a knowledge-team member outside the fraud team opens the Library; the playbook's title and text must not be shown, nor be openable."""
    page = open_page(restricted_base, "library", "kim")
    assert not page.exception
    shown = everything(page)
    assert TITLE not in shown and SECRET not in shown
    assert restricted_base.restricted_id not in shown
    assert any("1 (fraud-team)" in i.value for i in page.info)  # says restricted ones exist
    choices = next(s for s in page.selectbox if s.label == "Document").options
    assert restricted_base.restricted_id not in choices


def test_the_explicit_permission_opens_restricted_documents_in_the_library(restricted_base):
    page = open_page(restricted_base, "library", "rex")
    assert not page.exception
    assert TITLE in everything(page)
    document = next(s for s in page.selectbox if s.label == "Document")
    document.set_value(restricted_base.restricted_id).run()
    assert SECRET in everything(page)


@pytest.mark.security
def test_onboarding_trainer_tabs_show_no_restricted_title_and_the_drill_tab_works(
    restricted_base,
):
    """Attack: a trainer outside the fraud team opens every Onboarding tab and the call drill for a message the playbook matches; no traceback, no title, no text."""
    page = open_page(restricted_base, "onboarding", "tia", timeout=120)
    assert not page.exception
    category = next(s for s in page.selectbox if s.label == "Intent category")
    category.set_value("Lost or stolen card").run()
    message = next(s for s in page.selectbox if s.label == "Customer message")
    message.set_value("My card is lost! What can I do?").run()
    assert not page.exception
    shown = everything(page)
    assert TITLE not in shown and SECRET not in shown


@pytest.mark.security
def test_onboarding_shows_an_agent_no_restricted_item_of_an_assigned_path(restricted_base):
    """Attack: an agent outside the fraud team is assigned a path with the playbook and a drill on it; the page must show neither its title nor its text."""
    page = open_page(restricted_base, "onboarding", "ana", timeout=120)
    assert not page.exception
    shown = everything(page)
    assert TITLE not in shown and SECRET not in shown
    assert any("access groups do not include" in e.value for e in page.error)


@pytest.mark.security
def test_insights_show_no_restricted_title(restricted_base):
    """Attack: a knowledge-team member outside the fraud team opens Insights after a fraud-team agent's question was answered from the playbook; its title must not appear."""
    page = open_page(restricted_base, "insights", "kim")
    assert not page.exception
    assert TITLE not in everything(page)


@pytest.mark.security
def test_ask_page_shows_links_and_images_in_passages_as_text(served):
    """Attack: a document's text holds a Markdown link and image; the Ask page must show them as literal text, not a live link or a fetched image."""
    served.ingest([Upload("damaged-card.txt", data=PHISHING)])
    served.users.add("ana", "agent", password="agent-passphrase")
    page = open_page(served, "ask", "ana")
    question = next(t for t in page.text_input if t.label == "Question")
    question.input("How do I replace a damaged debit card?")
    page.button(key="FormSubmitter:ask-Ask").click().run()
    assert not page.exception
    sources = markdown_sources(page)
    assert any("click here" in s for s in sources)  # the passage is shown...
    for source in sources:  # ...as text: no link or image syntax reaches Markdown
        assert "](https://" not in source and "![" not in source, source


@pytest.mark.security
def test_insights_page_shows_links_and_images_in_questions_as_text(served):
    """Attack: an agent's question holds a Markdown link and image; the Insights page must show them as literal text, not a live link or a fetched image."""
    served.ingest_paths([GOOD / "procedure.docx"])
    served.users.add("kim", "knowledge", password="knowledge-pass")
    for question in (f"how do I bake sourdough {LINK} {IMAGE}", f"sourdough bread recipe {LINK}"):
        served.ask(Query(question), user="ana")
    page = open_page(served, "insights", "kim")
    assert not page.exception
    sources = markdown_sources(page)
    assert any("click here" in s for s in sources)
    for source in sources:
        assert "](https://" not in source and "![" not in source, source


@pytest.mark.security
def test_tracebacks_are_never_shown_to_users():
    """Attack: a page fails with an unexpected error; the browser must not get the traceback (client.showErrorDetails = "none")."""
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"

"""The Library under four-eyes publishing (issue 13), with AppTest: a draft is listed as
awaiting review, a second person sees the changed fee highlighted side by side and approves
it, the uploader cannot; an empty upload says so; the uploader states the size limit; the
Ask page offers the draft preview to reviewers only."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ingest.pipeline import Upload
from kb.access import OPERATOR
from kb.types import DocumentOptions, FileReport, FileStatus, IngestReport, Query
from tests.app.conftest import open_page
from tests.conftest import REPO
from tests.integration.test_publishing import QUESTION, fees

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def drafted(tmp_path_factory, embedder):
    """One knowledge base for the file, served to the pages as the `served` fixture does:
    the fee sheet live at v1 and kim's v2 (£30) awaiting review; lee reviews. The approval
    test comes last: it publishes the draft."""
    from kb.config import Settings
    from kb.services import Services
    from kb.store import KnowledgeBase
    from ui.shared import get_services

    settings = Settings(data_dir=tmp_path_factory.mktemp("library-review") / "kb")
    services = Services(settings, KnowledgeBase(settings, embedder))
    services.ingest([Upload("payment-fees.md", data=fees("£25"))], user="cli")
    services.users.add("kim", "knowledge", password="knowledge-pass")
    services.users.add("lee", "knowledge", password="knowledge-pass-2")
    services.users.add("ana", "agent", password="agent-passphrase")
    services.ingest(
        [Upload("payment-fees-2027.md", data=fees("£30"))],
        DocumentOptions(replaces="payment-fees"),
        user="kim",
        as_draft=True,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KB_DATA_DIR", str(settings.data_dir))
        patch.chdir(REPO)
        get_services.clear()
        yield services
        get_services.clear()
    services.close()


def fee_now(services) -> str:  # type: ignore[no-untyped-def]
    answer = services.ask(Query(QUESTION))
    return " ".join(text.text for text, _ in answer.sentences)


def test_the_uploader_cannot_approve_their_own_draft(drafted):
    page = open_page(drafted, "library", "kim")
    assert "You submitted this draft: a second person must review it." in [
        i.value for i in page.info
    ]
    assert page.button(key="FormSubmitter:review-Approve and publish").disabled
    assert drafted.drafts(reader=OPERATOR)[0].submitted_by == "kim"
    assert "£25" in fee_now(drafted)


def test_an_empty_upload_says_so_and_the_uploader_states_the_limit(drafted):
    page = open_page(drafted, "library", "kim")
    uploader = page.get("file_uploader")[0]
    assert "Up to 50 MB per file" in uploader.proto.help
    assert uploader.proto.max_upload_size_mb == 50
    page.button(key="FormSubmitter:upload-Ingest files").click().run()
    assert "Choose at least one file to upload" in page.warning[0].value
    assert not page.success


def test_the_ask_page_offers_the_draft_preview_to_reviewers_only(drafted):
    page = open_page(drafted, "ask", "kim")
    assert not page.exception
    assert [t.label for t in page.toggle] == ["Preview drafts"]
    page.toggle[0].set_value(True).run()
    next(t for t in page.text_input if t.label == "Question").input(QUESTION)
    page.button(key="FormSubmitter:ask-Ask").click().run()
    assert not page.exception
    shown = " ".join(m.value for m in page.markdown)
    assert "£30" in shown and "£25" not in shown  # the draft in place of v1, for kim only
    agent = open_page(drafted, "ask", "ana")
    assert not agent.exception
    assert [t.label for t in agent.toggle] == []


def test_a_batch_with_failures_is_amber_or_red_never_green(drafted):
    added = FileReport("notes.txt", FileStatus.ADDED, "notes", 1, 2, draft=True)
    failed = FileReport("empty.txt", FileStatus.FAILED, reason="the file is empty (0 bytes)")
    page = AppTest.from_file(str(REPO / "ui" / "library.py"), default_timeout=240)
    page.session_state["user"] = drafted.users.get("kim")
    page.session_state["last_report"] = IngestReport((added, failed), 1.0)
    page.run()
    assert not page.success and not page.error
    assert page.warning[0].value.startswith("Some files failed. 2 files: 1 added")
    assert "- empty.txt: the file is empty (0 bytes)" in page.warning[0].value
    page.session_state["last_report"] = IngestReport((failed,), 1.0)
    page.run()
    assert not page.success and "No file was added." in page.error[0].value
    page.session_state["language"] = "zh"
    page.run()
    assert page.error[0].value.startswith("没有文件被导入。")  # shown in the language of now


def test_a_reviewer_sees_the_changed_fee_side_by_side_and_approves_it(drafted):
    page = open_page(drafted, "library", "lee")
    assert not page.exception
    listing = page.dataframe[0].value
    assert list(listing[listing["Id"] == "payment-fees"]["Review"]) == ["v2 draft: awaiting review"]
    assert page.subheader[0].value == "Drafts awaiting review (1)"
    html = [m.value for m in page.markdown if "<ins" in m.value or "<del" in m.value]
    assert any(">£30</ins>" in h for h in html), html
    assert any(">£25</del>" in h for h in html), html
    assert "0 added, 0 removed, 1 changed" in " ".join(c.value for c in page.caption)
    next(t for t in page.text_area if t.label.startswith("Review comment")).input("Tariff checked")
    page.button(key="FormSubmitter:review-Approve and publish").click().run()
    assert not page.exception
    assert "Approved version 2 of payment-fees: agents get it now." in page.success[0].value
    assert "£30" in fee_now(drafted)
    (event,) = drafted.audit.events(action="draft_approved")
    assert (event.user, event.details["comment"]) == ("lee", "Tariff checked")

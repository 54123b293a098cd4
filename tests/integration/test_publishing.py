"""Four-eyes publishing (issue 13), through the services every interface calls, on one small
real knowledge base: a version uploaded by the knowledge team is a draft that no agent is
answered from until a second person approves it; a rejection keeps the version in force;
reviewers can preview drafts; every decision is audited; old registries migrate.

The tests run in file order on one module-scoped knowledge base (one ingest per step)."""

from __future__ import annotations

import sqlite3

import pytest

from ingest.pipeline import Upload
from kb.access import OPERATOR, Reader
from kb.diff import Change, Mark, Span
from kb.errors import DocumentNotFoundError
from kb.publishing import ReviewError, ReviewState
from kb.registry import Registry
from kb.types import DocumentOptions, FileStatus, Query

pytestmark = pytest.mark.integration

FEES = """# Payment fees

Document owner: Payments | Effective date: 2026-01-01

## CHAPS payments

A CHAPS payment costs £25 per payment and arrives the same working day.

## Faster Payments

Faster Payments are free and arrive within two hours.
"""
QUESTION = "How much does a CHAPS payment cost?"


def fees(amount: str) -> bytes:
    return FEES.replace("£25", amount).encode()


@pytest.fixture(scope="module")
def base(tmp_path_factory, embedder):
    """The fee sheet live at v1 (the operator), kim's v2 (£30) a draft; kim and lee in the
    knowledge team, ana an agent, root an administrator."""
    from kb.config import Settings
    from kb.services import Services
    from kb.store import KnowledgeBase

    settings = Settings(data_dir=tmp_path_factory.mktemp("publishing") / "kb")
    services = Services(settings, KnowledgeBase(settings, embedder))
    services.ingest([Upload("payment-fees.md", data=fees("£25"))], user="cli")
    for name, role in (
        ("kim", "knowledge"),
        ("lee", "knowledge"),
        ("ana", "agent"),
        ("root", "admin"),
    ):
        services.users.add(name, role, password=f"{role}-passphrase")
    services.draft_report = services.ingest(
        [Upload("payment-fees-2027.md", data=fees("£30"))],
        DocumentOptions(replaces="payment-fees"),
        user="kim",
        as_draft=True,
    )
    yield services
    services.close()


def answered(services, user: str, preview: bool = False) -> str:  # type: ignore[no-untyped-def]
    groups = services.users.get(user).access_groups
    answer = services.ask(Query(QUESTION, groups=groups, preview=preview), user=user)
    return " ".join(text.text for text, _ in answer.sentences)


@pytest.mark.security
def test_a_draft_is_listed_but_answers_only_in_a_reviewers_preview(base):
    """Attack: an agent asks about a fee a pending draft changes, with and without asking for the preview; only the published fee may come back."""
    (report,) = base.draft_report.files
    assert (report.status, report.version, report.draft) == (FileStatus.UPDATED, 2, True)
    (record,) = base.documents(reader=OPERATOR)
    assert (record.current_version, record.draft_version) == (1, 2)
    assert [v.status for v in base.document("payment-fees", reader=OPERATOR).versions] == [
        "current",
        "draft",
    ]
    (draft,) = base.drafts(reader=OPERATOR)
    assert (draft.document_id, draft.version, draft.submitted_by, draft.live_version) == (
        "payment-fees", 2, "kim", 1,
    )  # fmt: skip
    assert "£25" in answered(base, "ana") and "£30" not in answered(base, "ana")
    assert "£25" in answered(base, "ana", preview=True)  # an agent cannot preview
    assert "£30" in answered(base, "kim", preview=True)  # the draft in place of v1
    assert "£25" not in answered(base, "kim", preview=True)
    assert "£25" in answered(base, "kim")  # without the toggle, what agents get
    (created,) = base.audit.events(action="draft_created")
    assert (created.user, created.details["document"], created.details["version"]) == (
        "kim", "payment-fees", 2,
    )  # fmt: skip


def test_the_diff_shows_the_changed_fee(base):
    diff = base.version_diff("payment-fees", 1, 2, reader=OPERATOR)
    (changed,) = diff.changes
    assert (changed.change, changed.section) == (Change.CHANGED, "CHAPS payments")
    assert Span(Mark.REMOVED, "£25") in changed.old and Span(Mark.ADDED, "£30") in changed.new
    assert diff.count(Change.UNCHANGED) == 2


@pytest.mark.security
def test_only_a_second_person_with_the_reviewer_right_decides(base):
    """Attack: the uploader approves their own draft, an agent approves one, a reviewer rejects without a reason; all must be refused by the services (not only the page)."""
    for reviewer in ("kim", "ana"):  # the uploader; an agent
        with pytest.raises(ReviewError):
            base.approve_draft("payment-fees", 2, reviewer, "fine")
    with pytest.raises(ReviewError, match="say why"):
        base.reject_draft("payment-fees", 2, "lee", "  ")
    assert base.drafts(reader=OPERATOR)[0].state == ReviewState.DRAFT
    assert not base.audit.events(action="draft_approved")


def test_approval_makes_the_draft_live_and_retires_the_previous_version(base):
    decision = base.approve_draft("payment-fees", 2, "lee", "Checked against the 2027 tariff")
    assert (decision.state, decision.retired_version) == (ReviewState.APPROVED, 1)
    assert "£30" in answered(base, "ana") and "£25" not in answered(base, "ana")
    record = base.document("payment-fees", reader=OPERATOR)
    assert [v.status for v in record.versions] == ["superseded", "current"]
    assert (record.current_version, record.draft_version) == (2, None)
    assert set(base.kb.index.ids) == set(base.kb.registry.current_chunk_ids())
    (approved,) = base.audit.events(action="draft_approved")
    assert approved.user == "lee"
    assert approved.details["reviewer"] == "lee"
    assert approved.details["version"] == 2 and approved.details["submitted_by"] == "kim"
    assert approved.details["comment"] == "Checked against the 2027 tariff"
    with pytest.raises(ReviewError, match="not awaiting review"):
        base.reject_draft("payment-fees", 2, "root", "too late")


def test_a_rejected_draft_leaves_the_version_in_force_and_the_index(base):
    report = base.ingest(
        [Upload("payment-fees-typo.md", data=fees("£300"))],
        DocumentOptions(replaces="payment-fees"),
        user="kim",
        as_draft=True,
    )
    assert report.files[0].version == 3
    draft_ids = set(base.kb.registry.chunk_ids("payment-fees", 3))
    assert draft_ids <= set(base.kb.index.ids)  # indexed, for the preview
    decision = base.reject_draft("payment-fees", 3, "root", "£300 is a typo: the fee is £30")
    assert decision.state == ReviewState.REJECTED
    assert "£30 " in answered(base, "ana") + " " and "£300" not in answered(
        base, "kim", preview=True
    )
    assert not draft_ids & set(base.kb.index.ids)
    (rejected,) = base.drafts([ReviewState.REJECTED], reader=OPERATOR)
    assert (rejected.version, rejected.reviewer, rejected.comment) == (
        3, "root", "£300 is a typo: the fee is £30",
    )  # fmt: skip
    (event,) = base.audit.events(action="draft_rejected")
    assert (event.user, event.details["version"], event.details["comment"]) == (
        "root", 3, "£300 is a typo: the fee is £30",
    )  # fmt: skip
    assert [v.status for v in base.document("payment-fees", reader=OPERATOR).versions] == [
        "superseded", "current", "rejected",
    ]  # fmt: skip


def test_a_new_document_as_a_draft_is_not_listed_until_approved(base):
    data = (
        b"# Safe deposit boxes\n\n## Fees\n\nA small safe deposit box costs \xc2\xa3120 a year.\n"
    )
    base.ingest([Upload("safe-deposit-boxes.md", data=data)], user="kim", as_draft=True)
    listed = {d.document_id for d in base.documents(include_deleted=True, reader=OPERATOR)}
    assert "safe-deposit-boxes" not in listed
    (draft,) = base.drafts(reader=OPERATOR)
    assert (draft.document_id, draft.live_version) == ("safe-deposit-boxes", None)
    ask = Query("How much is a safe deposit box?", groups=base.users.get("ana").access_groups)
    assert "£120" not in " ".join(p.text.text for p in base.ask(ask).passages)
    base.approve_draft("safe-deposit-boxes", 1, "root")
    assert "safe-deposit-boxes" in {d.document_id for d in base.documents(reader=OPERATOR)}
    assert "£120" in " ".join(p.text.text for p in base.ask(ask).passages)


@pytest.mark.security
def test_a_restricted_draft_is_listed_and_reviewed_only_by_readers(base):
    """Attack: a knowledge-team member outside the fraud team lists, diffs and approves a fraud-team draft; they must see nothing of it."""
    playbook = b"# Mule ring playbook\n\nFreeze every account in the ring with code ZEBRA-7731.\n"
    base.ingest(
        [Upload("mule-ring.md", data=playbook)],
        DocumentOptions(groups=("fraud-team",)),
        user="kim",
        as_draft=True,
    )
    base.users.add("fred", "knowledge", ("fraud-team",), password="knowledge-pass-3")
    lee, fred = (Reader.of(base.users.get(n)) for n in ("lee", "fred"))
    assert [d.document_id for d in base.drafts(reader=lee)] == []  # not even its title
    assert [d.document_id for d in base.drafts(reader=fred)] == ["mule-ring"]
    with pytest.raises(DocumentNotFoundError):
        base.approve_draft("mule-ring", 1, "lee")
    with pytest.raises(DocumentNotFoundError):
        base.version_diff("mule-ring", 1, 1, reader=lee)
    base.reject_draft("mule-ring", 1, "fred", "Not for the knowledge base")
    assert base.drafts(reader=OPERATOR) == []


def test_the_operator_publishes_directly_and_withdraws_a_pending_draft(base):
    base.ingest(
        [Upload("payment-fees-v4.md", data=fees("£31"))],
        DocumentOptions(replaces="payment-fees"),
        user="kim",
        as_draft=True,
    )
    report = base.ingest(
        [Upload("payment-fees-v5.md", data=fees("£32"))],
        DocumentOptions(replaces="payment-fees"),
        user="cli",
        as_draft=True,  # the command line's uploader is the operator: live at once
    )
    assert (report.files[0].version, report.files[0].draft) == (5, False)
    assert "£32" in answered(base, "ana")
    assert [d.state for d in base.drafts(list(ReviewState), reader=OPERATOR) if d.version == 4] == [
        ReviewState.WITHDRAWN
    ]
    with pytest.raises(ReviewError, match="not awaiting review"):
        base.approve_draft("payment-fees", 4, "lee")


def test_with_four_eyes_off_a_library_upload_is_live_at_once(base):
    settings = base.settings
    base.settings = settings.model_copy(update={"four_eyes": False})
    try:
        report = base.ingest(
            [Upload("payment-fees-v6.md", data=fees("£33"))],
            DocumentOptions(replaces="payment-fees"),
            user="kim",
            as_draft=True,
        )
    finally:
        base.settings = settings
    assert (report.files[0].version, report.files[0].draft) == (6, False)
    assert "£33" in answered(base, "ana")


def test_a_registry_from_before_four_eyes_takes_drafts_after_opening(tmp_path):
    """Its versions table refused the new states (a CHECK SQLite cannot alter): opening it
    rebuilds the table with the same rows, chunks still pointing at their versions."""
    path = tmp_path / "registry.sqlite"
    Registry(path).close()
    old = sqlite3.connect(path)
    old.executescript(
        """
        PRAGMA foreign_keys=OFF;
        DROP TABLE versions;
        CREATE TABLE versions (document_id TEXT NOT NULL REFERENCES documents(document_id),
            version INTEGER NOT NULL, content_hash TEXT NOT NULL, source_name TEXT NOT NULL,
            format TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('current', 'superseded', 'deleted')),
            ingested_at TEXT NOT NULL, chunk_count INTEGER NOT NULL, page_count INTEGER,
            byte_size INTEGER NOT NULL, original_path TEXT, PRIMARY KEY (document_id, version));
        INSERT INTO documents VALUES ('a', 'a.md', 'A', 'a.md', 'md', 'en', 'faq', '2026-01-01',
            NULL, '["everyone"]', NULL, NULL, 1, 'x', 'x');
        INSERT INTO versions VALUES ('a', 1, 'h', 'a.md', 'md', 'current', 'x', 1, NULL, 3, NULL);
        INSERT INTO chunks VALUES ('a:v1:0', 'a', 1, 0, 'text', 'A text', '[]', '[]', 'en', 'h', '[]');
        """
    )
    with pytest.raises(sqlite3.IntegrityError):  # what an old table says to a draft
        old.execute(
            "INSERT INTO versions VALUES ('a', 2, 'h2', 'a.md', 'md', 'draft', 'x', 0, NULL, 3, NULL)"
        )
    old.close()
    registry = Registry(path)
    try:
        (version,) = registry.versions("a")
        assert (version.status, version.effective_date.isoformat()) == ("current", "2026-01-01")
        registry.db.execute(
            "INSERT INTO versions(document_id, version, content_hash, source_name, format, status, "
            "ingested_at, chunk_count, byte_size) VALUES ('a', 2, 'h2', 'a.md', 'md', 'draft', 'x', 0, 3)"
        )
        assert registry.db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert registry.chunk_ids("a", 1) == ["a:v1:0"]
    finally:
        registry.close()
    Registry(path).close()  # a second opening finds it done

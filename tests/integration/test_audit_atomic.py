"""An audit row commits with the change it records (issue 12): the registry and the audit
trail are two SQLite files, so the row is staged in the registry's transaction and delivered
after it (kb.audit.stage / AuditLog.deliver); a crash in between is repaired at start-up."""

from __future__ import annotations

import pytest

from ingest.pipeline import Upload
from kb.access import OPERATOR
from kb.audit import AuditLog
from kb.services import Services
from kb.store import KnowledgeBase
from kb.types import DocumentOptions
from tests.conftest import GOOD

pytestmark = pytest.mark.integration


def crash_when_auditing(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The process dies the moment it writes to the audit trail (after the registry commit)."""

    def crash(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise SystemExit("killed")

    monkeypatch.setattr(AuditLog, "record", crash)
    monkeypatch.setattr(AuditLog, "_append", crash, raising=False)


def restart(services: Services) -> Services:
    services.close()
    return Services(services.settings, KnowledgeBase(services.settings, services.kb.embedder))


@pytest.mark.security
def test_a_crash_after_the_registry_commit_leaves_no_change_without_its_audit_row(
    services, monkeypatch
):
    """Attack: kill the process right after an upload's registry commit, before its audit row."""
    with monkeypatch.context() as patched:
        crash_when_auditing(patched)
        with pytest.raises(SystemExit):
            services.ingest([Upload("guide.md", data=(GOOD / "guide.md").read_bytes())], user="kim")
    assert [d.source_name for d in services.documents(reader=OPERATOR)] == [
        "guide.md"
    ]  # the change is in
    services = restart(services)
    try:
        uploads = services.audit.events(user="kim", action="upload")
        assert [(e.details["file"], e.details["status"]) for e in uploads] == [
            ("guide.md", "added")
        ]
        assert services.audit.verify() is None
    finally:
        services.close()


def test_edits_and_deletions_are_audited_once_and_a_failed_change_not_at_all(services):
    report = services.ingest(
        [Upload("guide.md", data=(GOOD / "guide.md").read_bytes())], user="kim"
    )
    document = report.files[0].document_id
    services.update_metadata(
        document, DocumentOptions(owner="Fees team"), user="kim", reader=OPERATOR
    )
    with pytest.raises(Exception):  # noqa: B017 - whatever the registry raises for an unknown id
        services.update_metadata(
            "no-such-document", DocumentOptions(owner="x"), user="kim", reader=OPERATOR
        )
    services.delete(document, user="kim", reader=OPERATOR)
    services.audit.deliver(services.kb.registry.db)  # nothing left to deliver twice
    actions = [e.action for e in reversed(services.audit.events(user="kim"))]
    assert actions == ["upload", "metadata_edit", "deletion"]
    assert services.kb.registry.db.execute("SELECT count(*) FROM audit_outbox").fetchone()[0] == 0
    assert services.audit.verify() is None

"""The audit trail is append-only, tamper-evident, filterable, and never stores card numbers."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from kb.audit import AuditLog, events_csv


@pytest.fixture
def log(tmp_path):
    audit = AuditLog(tmp_path / "audit.sqlite")
    yield audit
    audit.close()


def test_events_are_masked_filtered_and_exported(log):
    log.record("ana", "sign_in")
    log.record("ana", "question", question="card 4539 1488 0343 6467 swallowed", documents=["atm"])
    log.record("kim", "upload", file="fees.pdf", status="added")
    question = log.events(user="ana", action="question")[0]
    assert question.details["question"] == "card [card ****6467] swallowed"
    assert [e.action for e in log.events()] == ["upload", "question", "sign_in"]
    assert log.events(since=dt.date.today(), until=dt.date.today())
    assert log.events(until=dt.date.today() - dt.timedelta(days=1)) == []
    exported = events_csv(log.events())
    assert exported.splitlines()[0] == "id,at,user,action,details" and "4539" not in exported
    with pytest.raises(ValueError, match="unknown audit action"):
        log.record("ana", "teleport")


def test_rows_cannot_be_changed_or_removed(log):
    log.record("ana", "sign_in")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        log.db.execute("UPDATE audit SET user = 'eve'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        log.db.execute("DELETE FROM audit")


def test_tampering_behind_the_database_breaks_the_chain(log):
    for user in ("ana", "kim", "lee"):
        log.record(user, "sign_in")
    assert log.verify() is None
    log.db.execute("DROP TRIGGER audit_no_update")  # someone with file access bypasses the rule
    log.db.execute("UPDATE audit SET user = 'eve' WHERE id = 2")
    assert log.verify() == 2


def test_users_sign_in_disable_and_roles(tmp_path):
    from kb.errors import KBError
    from kb.users import UserStore

    users = UserStore(tmp_path / "users.sqlite")
    users.add("ana", "agent", ("cards-team",), password="correct horse")
    assert users.authenticate("ana", "correct horse").access_groups == ("everyone", "cards-team")
    assert users.authenticate("ana", "wrong password") is None
    assert users.authenticate("nobody", "correct horse") is None
    stored = users.db.execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("$argon2") and "correct horse" not in stored
    users.set_disabled("ana")
    assert users.authenticate("ana", "correct horse") is None
    users.set_disabled("ana", False)
    users.set_password("ana", "battery staple")
    assert users.authenticate("ana", "battery staple") is not None
    assert users.update("ana", role="knowledge").role == "knowledge"
    with pytest.raises(KBError, match="at least 8"):
        users.set_password("ana", "short")
    with pytest.raises(KBError, match="role must be one of"):
        users.add("bob", "superuser")
    with pytest.raises(KBError, match="already exists"):
        users.add("ana", "agent")
    users.close()

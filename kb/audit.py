"""The audit trail: who did what, when, with what details. Append-only and tamper-evident.

A bank must be able to show who saw and changed what. Rows can only be added: triggers
refuse UPDATE and DELETE, and each row carries a hash over the previous row's hash and its
own content, so a row edited or removed behind the database's back breaks the chain.
Free text in the details (questions, reasons) is masked (kb.pii) before it is written.

**A sealed head.** A hash chain alone cannot show what is missing at its end: deleting the
last rows, truncating the table, emptying it, deleting the file, or editing a row and
re-computing every hash after it all leave a chain that checks. So every append also
rewrites one `seal` row in the same transaction: the id and hash of the newest event and the
number of events, with an HMAC-SHA256 over them under a key that is *not in the database*.
Whoever can edit the SQLite file but not read the key cannot make a seal that matches a
shortened or re-chained trail, and `problems()` names what is wrong: a broken link (a row
removed), a content hash that does not match (a row edited), a tail shorter than the seal
(rows deleted or truncated), an empty table under a seal, a head whose hash differs from
the sealed one (re-chained), a seal whose MAC is wrong (forged), or no seal at all while the
key exists (the database was deleted or replaced).

The key is a file (`KB_AUDIT_KEY_FILE`; by default `<data dir>.audit-key`, beside the data
folder rather than among its SQLite files) created once with mode 0600. It helps because the
usual ways a trail gets trimmed, a SQL tool on the database, a restored or copied `.sqlite`
file, a backup that only holds the data folder, do not carry the key. It does not stop
someone who can read the key file as the service account: a bank should keep the key in an
HSM or a secret store (the app asks it for MACs, never sees the key) and export signed
checkpoints to write-once storage, which also catches the one thing a seal in the same
database cannot: rolling the whole file back to an older copy with its older, valid seal.
`kb audit --checkpoint FILE` writes such a signed checkpoint (the head's id and hash, the
number of events, the time, their HMAC); `kb audit --verify --against FILE` shows whether the
trail still holds that head.

**Audit rows that commit with their change.** The registry and the audit trail are two
SQLite files, so one transaction cannot hold both. A change that must not exist without its
audit row `stage()`s the row in the registry's own transaction (table `audit_outbox`), and
`deliver()` moves staged rows into the trail after the commit, once each (a delivered key is
remembered in the same transaction as the row). A crash between the two leaves the row
staged, and the next `deliver()` (every start-up, `kb audit verify`) writes it.

**On PostgreSQL** (`KB_STORE=postgres`) the trail is the schema `<prefix>_audit`, one for every
replica, with the same chain and seal: appends take the store's advisory lock (kb.postgres),
so replicas on several machines append one after another and the chain stays a line. The
append-only rule is a plpgsql trigger function in that schema that refuses UPDATE, DELETE
and TRUNCATE (SQLSTATE 23001, an integrity error as SQLite's RAISE(ABORT) is). As on SQLite
the rule stops mistakes, not the table's owner, who can drop the triggers: what that owner
does without the key is what the chain and the seal show. The seal's key stays a file:
**every replica, on every machine, must use the same key file** (`KB_AUDIT_KEY_FILE`, e.g.
mounted from the bank's secret store), or each would seal with a key the others cannot
check. A replica that finds the shared trail sealed but has no key file refuses to start
instead of making a key of its own.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import json
import os
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb.database import PRIVATE_MODE, is_postgres, open_database
from kb.errors import KBError
from kb.pii import mask

ACTIONS = (
    "sign_in", "sign_in_failed", "sign_out", "question", "answer_shown", "feedback", "upload",
    "version_change", "metadata_edit", "deletion", "user_change", "export", "training_change",
    "training_attempt", "escalation_rule_change",
    "draft_created", "draft_approved", "draft_rejected",  # four-eyes publishing (kb.publishing)
    "open_original",  # the Ask page shows a cited original (kb.originals)
    "api_request", "call", "handoff", "token_change",  # the HTTP API (api/, kb.calls, kb.tokens)
    "account_locked", "audit_resealed",
    "session_start", "session_end",  # server-side sessions (kb.sessions)
    "ingest_job",  # background ingestion jobs (kb.ingest_jobs, kb.job_runner)
)  # fmt: skip

_TABLES = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    "user" TEXT NOT NULL,
    action TEXT NOT NULL,
    details TEXT NOT NULL,
    previous_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_user ON audit("user", at);
CREATE INDEX IF NOT EXISTS audit_by_action ON audit(action, at);
CREATE TABLE IF NOT EXISTS audit_seal (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    head_id INTEGER NOT NULL,
    head_hash TEXT NOT NULL,
    events INTEGER NOT NULL,
    mac TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_delivered (key TEXT PRIMARY KEY, event INTEGER NOT NULL);
"""

_SQLITE_APPEND_ONLY = """
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"""

# Statement-level, so even an UPDATE or DELETE that matches no row is refused, and TRUNCATE
# (which fires no row trigger) too. Created in the store's schema (first on the search path).
_POSTGRES_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only (% refused)', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE OR REPLACE TRIGGER audit_no_update BEFORE UPDATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE OR REPLACE TRIGGER audit_no_delete BEFORE DELETE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
"""

_OUTBOX = (
    "CREATE TABLE IF NOT EXISTS audit_outbox (key TEXT PRIMARY KEY, at TEXT NOT NULL, "
    '"user" TEXT NOT NULL, action TEXT NOT NULL, details TEXT NOT NULL)'
)
# PostgreSQL has no rowid: an identity column keeps the staging order instead.
_POSTGRES_OUTBOX = (
    "CREATE TABLE IF NOT EXISTS audit_outbox (key TEXT PRIMARY KEY, at TEXT NOT NULL, "
    '"user" TEXT NOT NULL, action TEXT NOT NULL, details TEXT NOT NULL, '
    "seq BIGINT GENERATED ALWAYS AS IDENTITY)"
)

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: str
    user: str
    action: str
    details: dict[str, Any]


@dataclass(frozen=True)
class AuditProblem:
    """One thing `AuditLog.problems()` found wrong: the event it concerns (0 when none can be
    named), the check that failed, and what it means."""

    event: int
    check: str
    message: str

    def __str__(self) -> str:
        where = f"event {self.event}" if self.event else "trail"
        return f"{where}: [{self.check}] {self.message}"


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value).text
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


def _body(details: dict[str, Any]) -> str:
    return json.dumps(_masked(details), ensure_ascii=False, sort_keys=True, default=str)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _row_hash(previous: str, at: str, user: str, action: str, details: str) -> str:
    return hashlib.sha256("\x1f".join((previous, at, user, action, details)).encode()).hexdigest()


def default_key_file(audit_path: Path) -> Path:
    """`<data dir>.audit-key`: beside the data folder, not among its SQLite files."""
    folder = audit_path.parent
    return folder.parent / f"{folder.name}.audit-key"


def _load_or_create_key(key_file: Path) -> tuple[bytes, bool]:
    """The key in `key_file` and whether this call created it (0600, 32 random bytes).

    A new key is written to a private temporary file and linked into place, so a process
    starting at the same moment reads either no key file or a whole one."""
    if not key_file.exists():
        try:
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key = secrets.token_bytes(32)
            draft = key_file.with_name(f".{key_file.name}.{secrets.token_hex(4)}")
            descriptor = os.open(draft, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_MODE)
            with os.fdopen(descriptor, "w", encoding="ascii") as file:
                file.write(key.hex() + "\n")
            try:
                os.link(draft, key_file)  # fails if another process made the key first
                return key, True
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        except OSError as e:
            raise KBError(f"cannot create the audit key file {key_file}: {e}") from e
    text = key_file.read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 32:
        raise KBError(f"the audit key file {key_file} is not a 64-digit hex key") from None
    return key, False


class AuditLog:
    def __init__(self, path: Path, key_file: Path | None = None) -> None:
        self.db = open_database(path)
        postgres = is_postgres(self.db)
        self.db.executescript(
            _TABLES + (_POSTGRES_APPEND_ONLY if postgres else _SQLITE_APPEND_ONLY)
        )
        self._lock = threading.Lock()
        self.key_file = key_file or default_key_file(path)
        if postgres and not self.key_file.exists() and self._sealed():
            # A shared trail another replica sealed: a key of our own would re-seal it, and
            # every replica holding the real key would then report a forged seal.
            raise KBError(
                f"the shared audit trail is sealed, but this replica has no key file at "
                f"{self.key_file}: give every replica the same key file (KB_AUDIT_KEY_FILE), "
                "copied from the first one"
            )
        self._key, created = _load_or_create_key(self.key_file)
        if created:
            # A new key seals what is there: an empty trail, or one written before sealing.
            with self._lock:
                self.db.execute("BEGIN IMMEDIATE")
                try:
                    self._seal()
                    self.db.execute("COMMIT")
                except BaseException:
                    self.db.execute("ROLLBACK")
                    raise

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ the seal

    def _sealed(self) -> bool:
        return self.db.execute("SELECT 1 FROM audit_seal").fetchone() is not None

    def _mac(self, head_id: int, head_hash: str, events: int) -> str:
        message = f"seal\x1f{head_id}\x1f{head_hash}\x1f{events}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def _seal(self) -> None:
        """Seal the current head (inside the caller's transaction)."""
        head = self.db.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        head_id, head_hash = (int(head[0]), head[1]) if head else (0, "")
        events = int(self.db.execute("SELECT count(*) FROM audit").fetchone()[0])
        self._write_seal(head_id, head_hash, events)

    def _write_seal(self, head_id: int, head_hash: str, events: int) -> None:
        self.db.execute(
            "INSERT INTO audit_seal(one, head_id, head_hash, events, mac) VALUES (1,?,?,?,?) "
            "ON CONFLICT (one) DO UPDATE SET head_id = excluded.head_id, "
            "head_hash = excluded.head_hash, events = excluded.events, mac = excluded.mac",
            (head_id, head_hash, events, self._mac(head_id, head_hash, events)),
        )

    def pseudonym(self, text: str) -> str:
        """A keyed hash of `text` (e.g. what was typed as a user name at a failed sign-in):
        the same text gives the same pseudonym, so repeated attempts can be grouped, but the
        text cannot be read back or guessed without the key."""
        digest = hmac.new(self._key, b"name\x1f" + text.encode(), hashlib.sha256).hexdigest()
        return f"unknown:{digest[:16]}"

    # ------------------------------------------------------------------ writing

    def record(self, actor: str, action: str, /, **details: Any) -> AuditEvent:
        """Append one event by `actor` (a user name, or "cli"); string details are masked for
        customer data first."""
        (event,) = self.record_many(actor, [(action, details)])
        return event

    def record_many(
        self, actor: str, events: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> list[AuditEvent]:
        """Append several events by `actor` ((action, details) each, in order) in one
        transaction: an answered question is two events, and on a shared store each
        transaction is several round trips to the database under the trail's one lock."""
        for action, _ in events:
            if action not in ACTIONS:
                raise ValueError(f"unknown audit action {action!r}; known: {', '.join(ACTIONS)}")
        at = _now()
        written = self._append_many([(at, actor, a, _body(dict(d)), None) for a, d in events])
        return [event for event in written if event is not None]

    def _append(
        self, at: str, actor: str, action: str, body: str, key: str | None = None
    ) -> AuditEvent | None:
        """One row and the new seal in one transaction; with `key` (a staged event), None if
        that key was delivered before."""
        return self._append_many([(at, actor, action, body, key)])[0]

    def _append_many(
        self, rows: Sequence[tuple[str, str, str, str, str | None]]
    ) -> list[AuditEvent | None]:
        """Rows (at, actor, action, body, key) and the new seal in one transaction; None in
        place of a row whose `key` (a staged event) was delivered before.

        Costs the same however long the trail is: the seal's new count is the old seal's
        plus the rows appended, when the old seal names the head they follow (counting the
        trail, as `_seal` does, is a scan of every event: at a million events, tens of
        milliseconds on every question asked)."""
        out: list[AuditEvent | None] = []
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                head_id, previous, seal_head, seal_events = self.db.execute(
                    "SELECT (SELECT id FROM audit ORDER BY id DESC LIMIT 1), "
                    "(SELECT hash FROM audit ORDER BY id DESC LIMIT 1), "
                    "(SELECT head_id FROM audit_seal WHERE one = 1), "
                    "(SELECT events FROM audit_seal WHERE one = 1)"
                ).fetchone()
                head_id, previous = int(head_id or 0), previous or ""
                appended = 0
                for at, actor, action, body, key in rows:
                    if (
                        key is not None
                        and self.db.execute(
                            "SELECT 1 FROM audit_delivered WHERE key = ?", (key,)
                        ).fetchone()
                    ):
                        out.append(None)
                        continue
                    digest = _row_hash(previous, at, actor, action, body)
                    event_id = int(
                        self.db.execute(
                            'INSERT INTO audit(at, "user", action, details, previous_hash, hash) '
                            "VALUES (?,?,?,?,?,?) RETURNING id",
                            (at, actor, action, body, previous, digest),
                        ).fetchone()[0]
                    )
                    if key is not None:
                        self.db.execute("INSERT INTO audit_delivered VALUES (?,?)", (key, event_id))
                    out.append(AuditEvent(event_id, at, actor, action, json.loads(body)))
                    previous, appended = digest, appended + 1
                if appended and seal_head is not None and int(seal_head) == head_id:
                    new_id = max(e.id for e in out if e is not None)
                    self._write_seal(new_id, previous, int(seal_events) + appended)
                # Otherwise the seal stays as it is, and `problems` goes on reporting why
                # until a person has looked (`reseal`): no seal while the key exists means
                # the trail was replaced; a seal behind the head, events written without
                # the key; a seal past it, a deleted tail. Sealing over them on the next
                # question would hide each (it used to, by recounting).
                self.db.execute("COMMIT" if appended else "ROLLBACK")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return out

    def deliver(self, db: Any) -> int:
        """Write the events staged in `db` (see `stage`) into the trail, each once; how many
        were written. Reads only, unless something is staged: starting up while another
        process holds the registry's write lock (a long ingest) does not wait for it."""
        postgres = is_postgres(db)
        exists = (
            "SELECT 1 WHERE to_regclass('audit_outbox') IS NOT NULL"
            if postgres
            else "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_outbox'"
        )
        if not db.execute(exists).fetchone():
            return 0  # nothing was ever staged here
        written = 0
        for key, at, actor, action, body in db.execute(
            'SELECT key, at, "user", action, details FROM audit_outbox ORDER BY '
            + ("seq" if postgres else "rowid")
        ).fetchall():
            if self._append(at, actor, action, body, key) is not None:
                written += 1
            try:
                db.execute("DELETE FROM audit_outbox WHERE key = ?", (key,))
            except sqlite3.OperationalError as error:
                if "locked" not in str(error):
                    raise
                # Another process has held the registry's write lock past the busy timeout
                # (a long ingest on a loaded machine). The event is in the trail already and
                # `_append` skips a delivered key, so the row is cleared by a later delivery:
                # failing here would report a committed change as failed.
                break
        return written

    def reseal(self, actor: str, reason: str) -> AuditEvent:
        """After a person has looked into what `problems()` reported: record that decision,
        with the problems, and seal the trail as it now is."""
        found = [str(p) for p in self.problems()]
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self._seal()  # so the event below is appended under a seal
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return self.record(actor, "audit_resealed", reason=reason, problems=found)

    # ------------------------------------------------------------------ reading

    def events(
        self,
        user: str | None = None,
        action: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
        limit: int = 1000,
    ) -> list[AuditEvent]:
        """Newest first, filtered by user, action and date range (inclusive)."""
        clauses, params = ["1=1"], []
        if user:
            clauses.append('"user" = ?')
            params.append(user)
        if action:
            clauses.append("action = ?")
            params.append(action)
        if since:
            clauses.append("at >= ?")
            params.append(since.isoformat())
        if until:
            clauses.append("at < ?")
            params.append((until + dt.timedelta(days=1)).isoformat())
        rows = self.db.execute(
            f'SELECT id, at, "user", action, details FROM audit WHERE {" AND ".join(clauses)} '
            "ORDER BY id DESC LIMIT ?",
            (*params, limit),
        ).fetchall()
        return [AuditEvent(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    def problems(
        self, progress: Callable[[int, int], None] | None = None, batch: int = 20_000
    ) -> list[AuditProblem]:
        """Everything wrong with the trail, in event order; empty if it is intact.

        Reads every event, `batch` at a time in id order, so memory stays flat at millions
        of events; `progress(read, total)` is called after each batch (the CLI's and the
        Admin page's bars). `seal_problems` is the quick check of the seal alone."""
        found: list[AuditProblem] = []
        previous, previous_id, last_id, last_hash, count = "", 0, 0, "", 0
        total = self._events_sealed()
        while True:
            rows = self.db.execute(
                'SELECT id, at, "user", action, details, previous_hash, hash FROM audit '
                "WHERE id > ? ORDER BY id LIMIT ?",
                (last_id, batch),
            ).fetchall()
            if not rows:
                break
            for row_id, at, user, action, details, stored_previous, digest in rows:
                if stored_previous != previous:
                    after = f"event {previous_id}" if previous_id else "the start of the trail"
                    found.append(AuditProblem(int(row_id), "link", (
                        f"its previous-hash does not match {after}: an event between them was "
                        "deleted, or one was edited and the chain re-computed"
                    )))  # fmt: skip
                if _row_hash(stored_previous, at, user, action, details) != digest:
                    found.append(AuditProblem(int(row_id), "content", (
                        "its content does not match its hash: the event was edited"
                    )))  # fmt: skip
                previous, previous_id = digest, int(row_id)
                last_id, last_hash, count = int(row_id), digest, count + 1
            if progress is not None:
                progress(count, max(total, count))
        return found + self._seal_checks(last_id, last_hash, count)

    def seal_problems(self) -> list[AuditProblem]:
        """What the seal alone shows, in a few indexed reads however long the trail is: a
        missing or forged seal, a deleted tail, a head edited and re-chained, events written
        after the seal without the key. An edit inside the trail (a broken link, a changed
        event) and a wrong count need `problems`, which reads every event: at a million
        events that takes seconds, too long for every rerun of the Admin page."""
        head = self.db.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        last_id, last_hash = (int(head[0]), head[1]) if head else (0, "")
        return self._seal_checks(last_id, last_hash, None)

    def _events_sealed(self) -> int:
        row = self.db.execute("SELECT events FROM audit_seal WHERE one = 1").fetchone()
        return int(row[0]) if row else 0

    def _seal_checks(self, last_id: int, last_hash: str, count: int | None) -> list[AuditProblem]:
        """The trail's last event and (when it was read whole) its count against the seal."""
        found: list[AuditProblem] = []
        seal = self.db.execute(
            "SELECT head_id, head_hash, events, mac FROM audit_seal WHERE one = 1"
        ).fetchone()
        if seal is None:
            found.append(AuditProblem(0, "seal-missing", (
                f"the trail has no sealed head although its key ({self.key_file}) exists: the "
                "audit database was deleted, replaced or its seal removed"
            )))  # fmt: skip
            return found
        head_id, head_hash, events, mac = int(seal[0]), seal[1], int(seal[2]), seal[3]
        if not hmac.compare_digest(mac, self._mac(head_id, head_hash, events)):
            found.append(AuditProblem(head_id, "seal-mac", (
                "the seal's MAC is wrong: the seal was written without the key (forged, or "
                "the key file was replaced)"
            )))  # fmt: skip
            return found
        if last_id == 0 and events > 0:
            found.append(AuditProblem(head_id, "empty", (
                f"the trail is empty but was sealed with {events} events up to event "
                f"{head_id}: the table was emptied"
            )))  # fmt: skip
        elif last_id < head_id:
            found.append(AuditProblem(last_id + 1, "tail", (
                f"events {last_id + 1}..{head_id} are missing: the trail ends at event "
                f"{last_id} but was sealed at event {head_id} ({events} events"
                + (f", now {count}); " if count is not None else "); ")
                + "the tail was deleted or truncated"
            )))  # fmt: skip
        elif last_id == head_id and last_hash != head_hash:
            found.append(AuditProblem(head_id, "head", (
                "its hash differs from the sealed head: an earlier event was edited and the "
                "chain re-computed after it"
            )))  # fmt: skip
        elif last_id > head_id and head_id and (sealed_head := self._hash_of(head_id)) is None:
            found.append(AuditProblem(head_id, "tail", (
                f"the sealed head, event {head_id}, is gone ({events} events were sealed up "
                "to it): the tail was deleted and events appended after it"
            )))  # fmt: skip
        elif last_id > head_id and head_id and sealed_head != head_hash:
            found.append(AuditProblem(head_id, "head", (
                "its hash differs from the sealed head: it was edited and the chain "
                "re-computed after it"
            )))  # fmt: skip
        elif last_id > head_id:
            found.append(AuditProblem(head_id + 1, "unsealed", (
                f"events {head_id + 1}..{last_id} were added after the seal without the key "
                "(written into the database directly)"
            )))  # fmt: skip
        elif count is not None and count != events:
            found.append(AuditProblem(head_id, "count", (
                f"the trail holds {count} events but was sealed with {events}: events were "
                "deleted or inserted"
            )))  # fmt: skip
        return found

    def _hash_of(self, event_id: int) -> str | None:
        row = self.db.execute("SELECT hash FROM audit WHERE id = ?", (event_id,)).fetchone()
        return row[0] if row else None

    def checkpoint(self) -> dict[str, Any]:
        """A signed record of the trail's head now, to keep outside this machine (write-once
        storage, a ticket, an e-mail to the security team): `check_checkpoint` later shows
        that the trail still holds that head, which a seal inside the database cannot show
        if the whole file was rolled back to an older copy."""
        head = self.db.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        head_id, head_hash = (int(head[0]), head[1]) if head else (0, "")
        events = int(self.db.execute("SELECT count(*) FROM audit").fetchone()[0])
        at = _now()
        mac = hmac.new(
            self._key,
            f"checkpoint\x1f{head_id}\x1f{head_hash}\x1f{events}\x1f{at}".encode(),
            hashlib.sha256,
        ).hexdigest()
        return {"at": at, "head_id": head_id, "head_hash": head_hash, "events": events, "mac": mac}

    def check_checkpoint(self, checkpoint: dict[str, Any]) -> list[AuditProblem]:
        """What is wrong with the trail against a checkpoint taken earlier (empty: it still
        holds the checkpointed head, unchanged, and at least as many events)."""
        try:
            head_id, head_hash = int(checkpoint["head_id"]), str(checkpoint["head_hash"])
            events, at, mac = int(checkpoint["events"]), str(checkpoint["at"]), checkpoint["mac"]
        except (KeyError, TypeError, ValueError):
            return [AuditProblem(0, "checkpoint", "the checkpoint is not one `kb audit` wrote")]
        expected = hmac.new(
            self._key,
            f"checkpoint\x1f{head_id}\x1f{head_hash}\x1f{events}\x1f{at}".encode(),
            hashlib.sha256,
        ).hexdigest()
        if not isinstance(mac, str) or not hmac.compare_digest(mac, expected):
            return [AuditProblem(0, "checkpoint", (
                f"the checkpoint of {at} does not carry this trail's MAC: it was altered, or "
                "belongs to another trail or key"
            ))]  # fmt: skip
        row = self.db.execute("SELECT hash FROM audit WHERE id = ?", (head_id,)).fetchone()
        count = int(self.db.execute("SELECT count(*) FROM audit").fetchone()[0])
        if head_id and (row is None or row[0] != head_hash):
            return [AuditProblem(head_id, "rollback", (
                f"the checkpoint of {at} saw event {head_id} "
                + ("but the trail no longer holds it" if row is None else "with another hash")
                + ": the trail was rolled back or rewritten since"
            ))]  # fmt: skip
        if count < events:
            return [AuditProblem(head_id, "rollback", (
                f"the checkpoint of {at} counted {events} events, the trail now holds {count}"
            ))]  # fmt: skip
        return []

    def verify(self) -> int | None:
        """None if the trail is intact; else the event of the first problem (0 when no event
        can be named, e.g. the database was replaced). `problems()` says what is wrong."""
        found = self.problems()
        return found[0].event if found else None


def stage(db: Any, actor: str, action: str, /, **details: Any) -> str:
    """Stage an audit event in `db` inside the caller's open transaction, so the event
    commits (or rolls back) with the change it records; `AuditLog.deliver(db)` writes it to
    the trail afterwards. The key it is delivered under."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; known: {', '.join(ACTIONS)}")
    db.execute(_POSTGRES_OUTBOX if is_postgres(db) else _OUTBOX)
    key = uuid.uuid4().hex
    db.execute(
        'INSERT INTO audit_outbox(key, at, "user", action, details) VALUES (?,?,?,?,?)',
        (key, _now(), actor, action, _body(details)),
    )
    return key


def neutralise_formula(value: object) -> object:
    """A spreadsheet cell that cannot run: text starting with = + - @ tab or CR gets a
    leading apostrophe (OWASP's advice for CSV injection); other values are unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def events_csv(events: list[AuditEvent]) -> str:
    """CSV for export: one row per event, details as JSON; no cell is a live formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "at", "user", "action", "details"])
    for event in events:
        row = [
            event.id,
            event.at,
            event.user,
            event.action,
            json.dumps(event.details, ensure_ascii=False),
        ]
        writer.writerow([neutralise_formula(cell) for cell in row])
    return buffer.getvalue()

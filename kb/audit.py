"""The audit trail: who did what, when, with what details. Append-only and tamper-evident.

A bank must be able to show who saw and changed what. Rows can only be added: triggers
refuse UPDATE and DELETE, and each row carries a hash over the previous row's hash and its
own content, so a row edited or removed behind the database's back breaks `verify()`.
Free text in the details (questions, reasons) is masked (kb.pii) before it is written.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb.database import open_database
from kb.pii import mask

ACTIONS = (
    "sign_in", "sign_in_failed", "sign_out", "question", "answer_shown", "feedback", "upload",
    "version_change", "metadata_edit", "deletion", "user_change", "export", "training_change",
    "training_attempt", "escalation_rule_change",
    "api_request", "call", "handoff", "token_change",  # the HTTP API (api/, kb.calls, kb.tokens)
)  # fmt: skip

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user TEXT NOT NULL,
    action TEXT NOT NULL,
    details TEXT NOT NULL,
    previous_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_user ON audit(user, at);
CREATE INDEX IF NOT EXISTS audit_by_action ON audit(action, at);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"""


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: str
    user: str
    action: str
    details: dict[str, Any]


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value).text
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


def _row_hash(previous: str, at: str, user: str, action: str, details: str) -> str:
    return hashlib.sha256("\x1f".join((previous, at, user, action, details)).encode()).hexdigest()


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.db = open_database(path)
        self.db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self.db.close()

    def record(self, actor: str, action: str, /, **details: Any) -> AuditEvent:
        """Append one event by `actor` (a user name, or "cli"); string details are masked for
        customer data first."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}; known: {', '.join(ACTIONS)}")
        at = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        body = json.dumps(_masked(details), ensure_ascii=False, sort_keys=True, default=str)
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                row = self.db.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
                previous = row[0] if row else ""
                digest = _row_hash(previous, at, actor, action, body)
                cursor = self.db.execute(
                    "INSERT INTO audit(at, user, action, details, previous_hash, hash) VALUES (?,?,?,?,?,?)",
                    (at, actor, action, body, previous, digest),
                )
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return AuditEvent(int(cursor.lastrowid or 0), at, actor, action, json.loads(body))

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
            clauses.append("user = ?")
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
            f"SELECT id, at, user, action, details FROM audit WHERE {' AND '.join(clauses)} "
            "ORDER BY id DESC LIMIT ?",
            (*params, limit),
        ).fetchall()
        return [AuditEvent(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    def verify(self) -> int | None:
        """The id of the first row whose hash chain is broken, or None if the trail is intact."""
        previous = ""
        for row_id, at, user, action, details, stored_previous, digest in self.db.execute(
            "SELECT id, at, user, action, details, previous_hash, hash FROM audit ORDER BY id"
        ):
            if (
                stored_previous != previous
                or _row_hash(previous, at, user, action, details) != digest
            ):
                return int(row_id)
            previous = digest
        return None


def events_csv(events: list[AuditEvent]) -> str:
    """CSV for export: one row per event, details as JSON."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "at", "user", "action", "details"])
    for event in events:
        writer.writerow(
            [
                event.id,
                event.at,
                event.user,
                event.action,
                json.dumps(event.details, ensure_ascii=False),
            ]
        )
    return buffer.getvalue()

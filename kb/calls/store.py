"""Call sessions in their own SQLite file (`calls.sqlite` beside the registry), masked.

Turns are masked (kb.pii) here, whatever the caller did, like kb.querylog: the contact
centre's transcript carries card and phone numbers as the customer reads them out.

With `KB_STORE=postgres` the calls live in the schema `<prefix>_calls` (kb.database), so the
speech-to-text bridge may send a call's turns through any replica: turns are numbered under
the store's write lock (an advisory lock there), so two replicas never give out one index.
One table differs: PostgreSQL has no rowid, so `shown` gets an identity column `seq` there to
keep the order in which suggestions first appeared.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import string
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kb.calls.records import (
    CallAlert,
    CallFeedback,
    CallRecord,
    CallStatus,
    CallSummary,
    CallTurnRecord,
    Speaker,
    Verdict,
)
from kb.database import is_postgres, open_database
from kb.errors import KBError
from kb.pii import mask

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    call_id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    acting_for TEXT,
    groups_json TEXT NOT NULL,
    reference TEXT,
    status TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    ended_at TEXT,
    summary_json TEXT
);
CREATE TABLE IF NOT EXISTS turns (
    call_id TEXT NOT NULL REFERENCES calls(call_id),
    idx INTEGER NOT NULL,
    speaker TEXT NOT NULL,
    text TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (call_id, idx)
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id TEXT NOT NULL REFERENCES calls(call_id),
    suggestion_id TEXT NOT NULL,
    document_id TEXT NOT NULL,
    verdict TEXT NOT NULL,
    at TEXT NOT NULL,
    by TEXT NOT NULL
);
"""
# {seq}: on PostgreSQL an identity column, the order suggestions first appeared in (rowid on SQLite)
_SHOWN = """
CREATE TABLE IF NOT EXISTS shown (
    call_id TEXT NOT NULL REFERENCES calls(call_id),
    document_id TEXT NOT NULL,
    title TEXT NOT NULL,
    first_turn INTEGER NOT NULL,
    PRIMARY KEY (call_id, document_id){seq}
);
"""


class CallNotFoundError(KBError):
    """No such call, or not one the caller opened (the same answer, so ids reveal nothing)."""


class CallEndedError(KBError):
    """The call has ended: no more turns or feedback."""


class CallAccessError(KBError):
    """The call was opened for another agent."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(at: dt.datetime | None) -> dt.datetime:
    if at is None:
        return _now()
    if at.tzinfo is None:
        return at.replace(tzinfo=dt.UTC)
    return at.astimezone(dt.UTC)


class CallStore:
    def __init__(self, path: Path) -> None:
        self.db = open_database(path, rows=True)
        postgres = is_postgres(self.db)
        seq = ",\n    seq BIGINT GENERATED ALWAYS AS IDENTITY" if postgres else ""
        self.db.executescript(_SCHEMA + _SHOWN.format(seq=seq))
        self._shown_order = "first_turn, seq" if postgres else "first_turn, rowid"
        self._lock = threading.Lock()

    def close(self) -> None:
        self.db.close()

    def open(
        self,
        account: str,
        acting_for: str | None,
        groups: Sequence[str],
        reference: str | None = None,
    ) -> CallRecord:
        # Letters only: a hex id can hold a run of digits that masking takes for an account
        # number, and then the audit trail would not name the call.
        call_id = "call_" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(16))
        opened = _now()
        with self._lock:
            self.db.execute(
                "INSERT INTO calls(call_id, account, acting_for, groups_json, reference, status, "
                "opened_at) VALUES (?,?,?,?,?,?,?)",
                (
                    call_id,
                    account,
                    acting_for,
                    json.dumps(list(groups)),
                    mask(reference).text if reference else None,
                    CallStatus.OPEN.value,
                    opened.isoformat(),
                ),
            )
        return self.call(call_id)

    def call(self, call_id: str) -> CallRecord:
        row = self.db.execute("SELECT * FROM calls WHERE call_id = ?", (call_id,)).fetchone()
        if row is None:
            raise CallNotFoundError(f"no call with id '{call_id}'")
        return CallRecord(
            call_id=row["call_id"],
            account=row["account"],
            acting_for=row["acting_for"],
            groups=tuple(json.loads(row["groups_json"])),
            reference=row["reference"],
            status=CallStatus(row["status"]),
            opened_at=dt.datetime.fromisoformat(row["opened_at"]),
            ended_at=dt.datetime.fromisoformat(row["ended_at"]) if row["ended_at"] else None,
        )

    def open_calls(self) -> list[CallRecord]:
        """Every open call, newest first."""
        rows = self.db.execute(
            "SELECT call_id FROM calls WHERE status = ? ORDER BY opened_at DESC",
            (CallStatus.OPEN.value,),
        ).fetchall()
        return [self.call(r["call_id"]) for r in rows]

    def turn_count(self, call_id: str) -> int:
        row = self.db.execute("SELECT COUNT(*) FROM turns WHERE call_id = ?", (call_id,)).fetchone()
        return int(row[0])

    def add_turns(
        self, call_id: str, turns: Sequence[tuple[Speaker, str, dt.datetime | None]]
    ) -> list[CallTurnRecord]:
        """Append turns (masked) in order; returns the whole call's turns."""
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                row = self.db.execute(
                    "SELECT COALESCE(MAX(idx) + 1, 0) FROM turns WHERE call_id = ?", (call_id,)
                ).fetchone()
                for offset, (speaker, text, at) in enumerate(turns):
                    self.db.execute(
                        "INSERT INTO turns(call_id, idx, speaker, text, at) VALUES (?,?,?,?,?)",
                        (
                            call_id,
                            row[0] + offset,
                            Speaker(speaker).value,
                            mask(text).text,
                            _utc(at).isoformat(),
                        ),
                    )
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return self.turns(call_id)

    def turns(self, call_id: str) -> list[CallTurnRecord]:
        rows = self.db.execute(
            "SELECT idx, speaker, text, at FROM turns WHERE call_id = ? ORDER BY idx", (call_id,)
        ).fetchall()
        return [
            CallTurnRecord(
                r["idx"], Speaker(r["speaker"]), r["text"], dt.datetime.fromisoformat(r["at"])
            )
            for r in rows
        ]

    def add_feedback(
        self, call_id: str, suggestion_id: str, document_id: str, verdict: Verdict, by: str
    ) -> CallFeedback:
        at = _now()
        with self._lock:
            self.db.execute(
                "INSERT INTO feedback(call_id, suggestion_id, document_id, verdict, at, by) "
                "VALUES (?,?,?,?,?,?)",
                (call_id, suggestion_id, document_id, Verdict(verdict).value, at.isoformat(), by),
            )
        return CallFeedback(call_id, suggestion_id, document_id, Verdict(verdict), at, by)

    def feedback(self, call_id: str) -> list[CallFeedback]:
        rows = self.db.execute(
            "SELECT * FROM feedback WHERE call_id = ? ORDER BY id", (call_id,)
        ).fetchall()
        return [
            CallFeedback(
                r["call_id"],
                r["suggestion_id"],
                r["document_id"],
                Verdict(r["verdict"]),
                dt.datetime.fromisoformat(r["at"]),
                r["by"],
            )
            for r in rows
        ]

    def record_shown(self, call_id: str, shown: Sequence[tuple[str, str]], turn: int) -> None:
        """(document id, title) of suggestions on screen; the first showing is kept."""
        with self._lock:
            self.db.executemany(
                "INSERT INTO shown(call_id, document_id, title, first_turn) VALUES (?,?,?,?) "
                "ON CONFLICT DO NOTHING",
                [(call_id, d, t, turn) for d, t in shown],
            )

    def shown(self, call_id: str) -> list[tuple[str, str]]:
        rows = self.db.execute(
            f"SELECT document_id, title FROM shown WHERE call_id = ? ORDER BY {self._shown_order}",
            (call_id,),
        ).fetchall()
        return [(r["document_id"], r["title"]) for r in rows]

    def end(self, call_id: str, summary: dict[str, Any], ended_at: dt.datetime) -> None:
        """Close the call and keep its summary (kb.calls.assist.summarise builds it masked)."""
        body = json.dumps(summary, ensure_ascii=False, sort_keys=True)
        with self._lock:
            self.db.execute(
                "UPDATE calls SET status = ?, ended_at = ?, summary_json = ? WHERE call_id = ?",
                (CallStatus.ENDED.value, ended_at.isoformat(), body, call_id),
            )

    def summary(self, call_id: str) -> CallSummary | None:
        row = self.db.execute(
            "SELECT summary_json FROM calls WHERE call_id = ?", (call_id,)
        ).fetchone()
        if not row or not row[0]:
            return None
        data = json.loads(row[0])
        return CallSummary(
            call_id=data["call_id"],
            opened_at=dt.datetime.fromisoformat(data["opened_at"]),
            ended_at=dt.datetime.fromisoformat(data["ended_at"]),
            turns=data["turns"],
            opening=data["opening"],
            topics=tuple(data["topics"]),
            documents_suggested=tuple(data["documents_suggested"]),
            documents_used=tuple(data["documents_used"]),
            documents_dismissed=tuple(data["documents_dismissed"]),
            alerts=tuple(CallAlert(**alert) for alert in data["alerts"]),
        )

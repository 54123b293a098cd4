"""Agents' feedback on answers: helpful or not, why, and which documents were shown.

The question is stored masked (kb.pii), never as typed. This is what the knowledge team's
insights are built from: which questions fail, and which documents they touched.

The same SQL runs on SQLite and, with `KB_STORE=postgres`, in the schema `<prefix>_feedback`
(kb.database): the new row's id comes from `RETURNING id` (PostgreSQL has no `lastrowid`),
and the column `user` is written `"user"` (PostgreSQL reserves the bare word).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from kb.database import open_database
from kb.pii import mask


@dataclass(frozen=True)
class Feedback:
    id: int
    at: str
    user: str
    question: str  # masked
    helpful: bool
    reason: str
    documents: tuple[str, ...]
    status: str
    confidence: float


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.db = open_database(path)
        self.db.executescript(
            "CREATE TABLE IF NOT EXISTS feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            'at TEXT NOT NULL, "user" TEXT NOT NULL, question TEXT NOT NULL, '
            "helpful INTEGER NOT NULL, reason TEXT NOT NULL, documents_json TEXT NOT NULL, "
            "status TEXT NOT NULL, confidence REAL NOT NULL)"
        )

    def close(self) -> None:
        self.db.close()

    def add(
        self,
        user: str,
        question: str,
        helpful: bool,
        reason: str,
        documents: tuple[str, ...],
        status: str,
        confidence: float,
    ) -> Feedback:
        at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        masked_question, masked_reason = mask(question).text, mask(reason).text
        row = self.db.execute(
            'INSERT INTO feedback(at, "user", question, helpful, reason, documents_json, status, '
            "confidence) VALUES (?,?,?,?,?,?,?,?) RETURNING id",
            (
                at,
                user,
                masked_question,
                int(helpful),
                masked_reason,
                json.dumps(list(documents)),
                status,
                confidence,
            ),
        ).fetchone()
        return Feedback(
            int(row[0]),
            at,
            user,
            masked_question,
            helpful,
            masked_reason,
            documents,
            status,
            confidence,
        )

    def all(self) -> list[Feedback]:
        rows = self.db.execute(
            'SELECT id, at, "user", question, helpful, reason, documents_json, status, '
            "confidence FROM feedback ORDER BY id"
        ).fetchall()
        return [
            Feedback(r[0], r[1], r[2], r[3], bool(r[4]), r[5], tuple(json.loads(r[6])), r[7], r[8])
            for r in rows
        ]

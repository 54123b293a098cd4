"""Every question asked on the Ask page, one row each, masked: what the Insights page counts.

Feedback only covers the answers an agent bothered to rate; this log covers every question,
so the knowledge team can see refusal rates, answers shown with low confidence and how often
each document is shown at all. The store masks customer data (kb.pii) itself instead of
trusting callers to have done it: one careless caller would otherwise put card numbers into
a table the knowledge team exports as CSV.

The same SQL runs on SQLite and, with `KB_STORE=postgres`, in the schema `<prefix>_questions`
shared by every replica (kb.database): the new row's id comes from `RETURNING id`, and the
column `user` is written `"user"` (PostgreSQL reserves the bare word).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from ingest.clean import detect_language
from kb.answer import LOW_CONFIDENCE
from kb.database import open_database
from kb.pii import mask
from kb.types import Answer, AnswerStatus

_SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    "user" TEXT NOT NULL,
    question TEXT NOT NULL,
    resolved_question TEXT NOT NULL,
    status TEXT NOT NULL,
    confidence REAL NOT NULL,
    low_confidence INTEGER NOT NULL,
    documents_json TEXT NOT NULL,
    language TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS questions_by_time ON questions(at);
"""
_COLUMNS = (
    'id, at, "user", question, resolved_question, status, confidence, low_confidence, '
    "documents_json, language"
)


@dataclass(frozen=True)
class LoggedQuestion:
    """One question as asked and what the agent was shown. Text fields are masked."""

    id: int
    at: str  # UTC, ISO 8601 to the second, like kb.feedback
    user: str
    question: str  # masked: as typed by the agent
    resolved_question: str  # masked: as searched, after using the conversation
    status: str  # an AnswerStatus value: "answered" or "not_covered"
    confidence: float
    low_confidence: bool  # answered, but shown with the low-confidence warning
    documents: tuple[str, ...]  # ids of the documents shown, in the order shown
    language: str  # "en", "zh" or "mixed" (ingest.clean.detect_language of the question)

    @property
    def day(self) -> dt.date:
        """The UTC calendar day it was asked on."""
        return dt.datetime.fromisoformat(self.at).astimezone(dt.UTC).date()


def documents_shown(answer: Answer) -> tuple[str, ...]:
    """Document ids the agent saw, in order, once each: the passages of an answer, or the
    closest articles offered with a refusal (the same list kb.services gives feedback)."""
    return tuple(
        dict.fromkeys(
            [p.citation.document_id for p in answer.passages]
            + [c.document_id for c in answer.related]
        )
    )


def shows_low_confidence(answer: Answer) -> bool:
    """True when the answer was shown with kb.answer's low-confidence warning.

    kb.answer.build_answer adds LOW_CONFIDENCE to the notices exactly when the confidence is
    below the calibration's `confident_from`, so this reads the decision already made
    instead of repeating the threshold here."""
    return answer.status == AnswerStatus.ANSWERED and LOW_CONFIDENCE in answer.notices


def _timestamp(at: dt.datetime | None) -> str:
    if at is None:
        at = dt.datetime.now(dt.UTC)
    elif at.tzinfo is None:
        raise ValueError(
            "at must be timezone-aware (e.g. tzinfo=datetime.UTC) so rows sort and group by "
            f"day correctly. Currently, at is {at.isoformat()}"
        )
    return at.astimezone(dt.UTC).isoformat(timespec="seconds")


class QueryLog:
    """The questions table in its own SQLite file (WAL, so the app can read while it writes),
    or its own PostgreSQL schema."""

    def __init__(self, path: Path) -> None:
        self.db = open_database(path)
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def record(
        self,
        user: str,
        answer: Answer,
        low_confidence: bool,
        at: dt.datetime | None = None,
    ) -> LoggedQuestion:
        """Store one asked question (masked here, whatever the caller did) and what was shown.

        `low_confidence` is kept only for answered questions: a refusal is its own reason and
        must not be counted twice. `at` (timezone-aware) is for tests and seed data; by
        default it is now."""
        stamp = _timestamp(at)
        question = mask(answer.question).text
        resolved = mask(answer.resolved_question).text
        status = AnswerStatus(answer.status).value
        low = bool(low_confidence) and status == AnswerStatus.ANSWERED.value
        documents = documents_shown(answer)
        # From the text as typed: placeholder letters ("[card ****1234]") would make a Chinese
        # question look mixed. Only the language code is kept from the unmasked text.
        language = detect_language(answer.question)
        row = self.db.execute(
            'INSERT INTO questions(at, "user", question, resolved_question, status, confidence, '
            "low_confidence, documents_json, language) VALUES (?,?,?,?,?,?,?,?,?) RETURNING id",
            (
                stamp,
                user,
                question,
                resolved,
                status,
                float(answer.confidence),
                int(low),
                json.dumps(list(documents)),
                language,
            ),
        ).fetchone()
        return LoggedQuestion(
            int(row[0]),
            stamp,
            user,
            question,
            resolved,
            status,
            float(answer.confidence),
            low,
            documents,
            language,
        )

    def all(
        self, since: dt.date | None = None, until: dt.date | None = None
    ) -> list[LoggedQuestion]:
        """Questions asked from `since` to `until` (UTC days, both inclusive), oldest first."""
        clauses, params = ["1=1"], []
        if since is not None:
            clauses.append("at >= ?")
            params.append(since.isoformat())
        if until is not None:
            clauses.append("at < ?")
            params.append((until + dt.timedelta(days=1)).isoformat())
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM questions WHERE {' AND '.join(clauses)} ORDER BY at, id",
            params,
        ).fetchall()
        return [
            LoggedQuestion(
                r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), tuple(json.loads(r[8])), r[9]
            )
            for r in rows
        ]

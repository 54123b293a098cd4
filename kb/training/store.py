"""Onboarding storage: exercises under review, learning paths, assignments, attempts, drills.

One SQLite file (WAL, one connection shared by the app's threads, like kb.feedback). What the
generator produced and what a trainer changed are kept apart, so generating again after a
code change or a re-ingest updates the questions without losing a trainer's review:

* an exercise's generated form is replaced on regeneration; a trainer's edits (prompt,
  answer) are kept and still shown instead of it;
* its status is kept too, except that an approved, unedited exercise whose generated
  question changed goes back to draft, so a path never uses a question nobody has seen.

With `KB_STORE=postgres` the same tables are the schema `<prefix>_training` (kb.database),
shared by every replica: new ids come from `RETURNING id` (PostgreSQL has no `lastrowid`),
"keep the first" inserts are `ON CONFLICT DO NOTHING`, and foreign keys, which SQLite checks
only when asked (`PRAGMA foreign_keys`), PostgreSQL always checks.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from kb.database import is_postgres, open_database, write_transaction
from kb.training.errors import (
    ExerciseNotApprovedError,
    InvalidEditError,
    TrainingError,
    UnknownExerciseError,
    UnknownPathError,
)
from kb.training.generate import shuffled_order
from kb.training.types import (
    BLANK,
    STATUSES,
    Assignment,
    Attempt,
    DrillMapping,
    DrillPayload,
    Exercise,
    FillPayload,
    GivenAnswer,
    LearningPath,
    OrderPayload,
    PathItem,
    Payload,
)
from kb.types import Citation

_SCHEMA = """
CREATE TABLE IF NOT EXISTS exercises (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    document_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'draft',
    generated_json TEXT NOT NULL,
    edited_prompt TEXT,
    edited_payload_json TEXT,
    edited_by TEXT,
    edited_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS exercises_document ON exercises(document_id);
CREATE TABLE IF NOT EXISTS paths (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS path_items (
    path_id INTEGER NOT NULL REFERENCES paths(id),
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    ref TEXT NOT NULL,
    title TEXT NOT NULL,
    PRIMARY KEY (path_id, position)
);
CREATE TABLE IF NOT EXISTS assignments (
    path_id INTEGER NOT NULL REFERENCES paths(id),
    trainee TEXT NOT NULL,
    assigned_by TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (path_id, trainee)
);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trainee TEXT NOT NULL,
    item_id TEXT NOT NULL,
    path_id INTEGER,
    answer_json TEXT NOT NULL,
    score REAL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_trainee ON attempts(trainee);
CREATE TABLE IF NOT EXISTS drill_mappings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message TEXT NOT NULL,
    document_id TEXT NOT NULL,
    created_by TEXT NOT NULL,
    at TEXT NOT NULL,
    UNIQUE (message, document_id)
);
"""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# ---------------------------------------------------------------- JSON forms


def _citation_json(citation: Citation) -> dict[str, Any]:
    data = asdict(citation)
    data["pages"] = list(citation.pages)
    data["effective_date"] = (
        citation.effective_date.isoformat() if citation.effective_date else None
    )
    return data


def _citation_from(data: dict[str, Any]) -> Citation:
    effective = data.get("effective_date")
    return Citation(
        document_id=data["document_id"],
        title=data["title"],
        source_name=data["source_name"],
        section=data["section"],
        pages=tuple(data.get("pages") or ()),
        version=int(data["version"]),
        effective_date=dt.date.fromisoformat(effective) if effective else None,
        chunk_id=data["chunk_id"],
        original=data.get("original"),
    )


def _payload_json(payload: Payload) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(payload).items()}


def _payload_from(kind: str, data: dict[str, Any]) -> Payload:
    if kind == "order":
        return OrderPayload(
            tuple(data["steps"]), tuple(data["presented"]), tuple(data.get("chunk_ids") or ())
        )
    if kind == "fill":
        return FillPayload(data["original"], data["answer"], tuple(data.get("accepted") or ()))
    if kind == "drill":
        return DrillPayload(
            data["message"], data["document_id"], tuple(data["steps"]), int(data["mapping_id"])
        )
    raise TrainingError(f"Stored exercise has unknown kind {kind!r}.")


def _exercise_json(exercise: Exercise) -> str:
    return json.dumps(
        {
            "id": exercise.id,
            "kind": exercise.kind,
            "prompt": exercise.prompt,
            "payload": _payload_json(exercise.payload),
            "source": _citation_json(exercise.source),
            "source_text": exercise.source_text,
            "topic": exercise.topic,
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def _answer_json(answer: GivenAnswer) -> str:
    return json.dumps(
        {"text": answer.text, "steps": list(answer.steps), "document_id": answer.document_id},
        ensure_ascii=False,
    )


def _answer_from(text: str) -> GivenAnswer:
    data = json.loads(text)
    return GivenAnswer(
        data.get("text", ""), tuple(data.get("steps") or ()), data.get("document_id")
    )


class TrainingStore:
    """Exercises, learning paths, assignments, attempts and drill mappings in one SQLite file
    (or one PostgreSQL schema).

    `path` is the database file (say `settings.data_dir / "training.sqlite"`); its folder is
    created if needed.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db_path = path
        self.db = open_database(path)
        if not is_postgres(self.db):
            self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(_SCHEMA)
        self._lock = threading.RLock()

    def close(self) -> None:
        self.db.close()

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self.db.execute(sql, params).fetchall()

    def _fetch_one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        rows = self._fetch(sql, params)
        return rows[0] if rows else None

    def _transaction(self) -> AbstractContextManager[Any]:
        """One writer at a time within the process, all-or-nothing in the store."""
        return write_transaction(self.db, self._lock)

    # ------------------------------------------------------------ exercises

    def save_generated(self, exercises: Iterable[Exercise]) -> dict[str, int]:
        """Store freshly generated exercises; returns counts of "added", "updated", "unchanged".

        Idempotent: saving the same exercises again changes nothing. A trainer's status and
        edits survive; see the module docstring for the one case where approval is undone.
        """
        counts = {"added": 0, "updated": 0, "unchanged": 0}
        now = _now()
        with self._transaction() as db:
            for exercise in exercises:
                generated = _exercise_json(exercise)
                row = db.execute(
                    "SELECT generated_json, status, edited_prompt, edited_payload_json "
                    "FROM exercises WHERE id = ?",
                    (exercise.id,),
                ).fetchone()
                if row is None:
                    db.execute(
                        "INSERT INTO exercises(id, kind, document_id, topic, status, "
                        "generated_json, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
                        (
                            exercise.id,
                            exercise.kind,
                            exercise.document_id,
                            exercise.topic,
                            "draft",
                            generated,
                            now,
                            now,
                        ),
                    )
                    counts["added"] += 1
                    continue
                old_generated, status, edited_prompt, edited_payload = row
                if old_generated == generated:
                    counts["unchanged"] += 1
                    continue
                unedited = edited_prompt is None and edited_payload is None
                if status == "approved" and unedited:
                    status = "draft"
                db.execute(
                    "UPDATE exercises SET kind = ?, document_id = ?, topic = ?, status = ?, "
                    "generated_json = ?, updated_at = ? WHERE id = ?",
                    (
                        exercise.kind,
                        exercise.document_id,
                        exercise.topic,
                        status,
                        generated,
                        now,
                        exercise.id,
                    ),
                )
                counts["updated"] += 1
        return counts

    def _row_to_exercise(self, row: tuple[Any, ...]) -> Exercise:
        generated_json, status, edited_prompt, edited_payload_json = row
        data = json.loads(generated_json)
        kind = data["kind"]
        payload = _payload_from(
            kind, json.loads(edited_payload_json) if edited_payload_json else data["payload"]
        )
        return Exercise(
            id=data["id"],
            kind=kind,
            prompt=edited_prompt if edited_prompt is not None else data["prompt"],
            payload=payload,
            source=_citation_from(data["source"]),
            source_text=data["source_text"],
            topic=data["topic"],
            status=status,
            edited=edited_prompt is not None or edited_payload_json is not None,
        )

    _EXERCISE_COLUMNS = "generated_json, status, edited_prompt, edited_payload_json"

    def exercise(self, exercise_id: str) -> Exercise:
        """The exercise as trainees see it (a trainer's edits applied)."""
        row = self._fetch_one(
            f"SELECT {self._EXERCISE_COLUMNS} FROM exercises WHERE id = ?", (exercise_id,)
        )
        if row is None:
            raise UnknownExerciseError(
                f"No exercise has the id “{exercise_id}”. Generate the exercises again, or "
                "pick one from the list of exercises."
            )
        return self._row_to_exercise(row)

    def exercises(
        self,
        status: str | None = None,
        document_id: str | None = None,
        kind: str | None = None,
    ) -> list[Exercise]:
        """Exercises in the order they were first generated, optionally filtered."""
        if status is not None and status not in STATUSES:
            raise TrainingError(
                f"status must be one of {STATUSES}. Currently, status is {status!r}."
            )
        conditions, params = [], []
        for column, value in (("status", status), ("document_id", document_id), ("kind", kind)):
            if value is not None:
                conditions.append(f"{column} = ?")
                params.append(value)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = self._fetch(
            f"SELECT {self._EXERCISE_COLUMNS} FROM exercises{where} ORDER BY seq", params
        )
        return [self._row_to_exercise(row) for row in rows]

    def set_status(self, exercise_id: str, status: str) -> Exercise:
        """Approve, discard, or send back to draft."""
        if status not in STATUSES:
            raise TrainingError(
                f"status must be one of {STATUSES}. Currently, status is {status!r}."
            )
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE exercises SET status = ?, updated_at = ? WHERE id = ?",
                (status, _now(), exercise_id),
            ).rowcount
        if not changed:
            self.exercise(exercise_id)  # raises the helpful error
        return self.exercise(exercise_id)

    def edit(
        self,
        exercise_id: str,
        *,
        prompt: str | None = None,
        answer: str | Sequence[str] | None = None,
        accepted: Sequence[str] | None = None,
        by: str = "",
    ) -> Exercise:
        """A trainer's correction, kept over later regenerations.

        `answer` is the value for a fill-in (it must occur verbatim in the source text, so the
        answer stays traceable; put other wordings in `accepted`), the steps in the right
        order for an ordering exercise, or the gold steps for a drill (each must occur in the
        source text). A fill-in's prompt must keep its blank "____".
        """
        current = self.exercise(exercise_id)
        payload = current.payload
        new_prompt = current.prompt if prompt is None else prompt.strip()
        if not new_prompt:
            raise InvalidEditError("The question cannot be empty.")
        if isinstance(payload, FillPayload):
            if answer is not None:
                if not isinstance(answer, str) or not answer.strip():
                    raise InvalidEditError("A fill-in answer is one value, such as “£25”.")
                if answer.strip() not in current.source_text:
                    raise InvalidEditError(
                        f"The answer “{answer.strip()}” does not appear in the source passage "
                        f"({current.source.title}, {current.source.section}). A fill-in answer "
                        "must be quoted from the document; add other wordings as accepted "
                        "answers instead."
                    )
                payload = replace(payload, answer=answer.strip())
            if accepted is not None:
                payload = replace(payload, accepted=tuple(a.strip() for a in accepted if a.strip()))
            if BLANK not in new_prompt:
                raise InvalidEditError(
                    f"A fill-in question must keep the blank {BLANK} where the answer goes."
                )
        elif answer is not None:
            if isinstance(answer, str):
                raise InvalidEditError("Give the steps as a list, one step per entry.")
            steps = tuple(s.strip() for s in answer if s.strip())
            missing = [s for s in steps if s not in current.source_text]
            if missing:
                raise InvalidEditError(
                    f"These steps do not appear in the source passage ({current.source.title}, "
                    f"{current.source.section}): {'; '.join(missing)}. Steps must be quoted "
                    "from the document."
                )
            if isinstance(payload, OrderPayload):
                if len(steps) < 2 or len(set(steps)) != len(steps):
                    raise InvalidEditError(
                        "An ordering exercise needs at least two different steps."
                    )
                payload = replace(
                    payload, steps=steps, presented=shuffled_order(steps, exercise_id)
                )
            elif isinstance(payload, DrillPayload):
                payload = replace(payload, steps=steps)
        with self._transaction() as db:
            db.execute(
                "UPDATE exercises SET edited_prompt = ?, edited_payload_json = ?, edited_by = ?, "
                "edited_at = ?, updated_at = ? WHERE id = ?",
                (
                    new_prompt,
                    json.dumps(_payload_json(payload), ensure_ascii=False, sort_keys=True),
                    by,
                    _now(),
                    _now(),
                    exercise_id,
                ),
            )
        return self.exercise(exercise_id)

    # ------------------------------------------------------------ learning paths

    def _checked_items(self, name: str, items: Sequence[PathItem]) -> tuple[str, list[PathItem]]:
        """The path's name and items, validated: a name, at least one item, exercises
        approved; an exercise item without a title gets the first line of its question."""
        name = name.strip()
        if not name:
            raise TrainingError("Give the learning path a name.")
        if not items:
            raise TrainingError(f"The learning path “{name}” has no items: add documents, "
                                "procedures or approved exercises.")  # fmt: skip
        checked: list[PathItem] = []
        for item in items:
            if item.kind == "exercise":
                exercise = self.exercise(item.ref)
                if exercise.status != "approved":
                    raise ExerciseNotApprovedError(
                        f"The exercise “{item.title or exercise.prompt.splitlines()[-1]}” "
                        f"({item.ref}) is {exercise.status}, not approved. Review and approve it "
                        "on the exercises page before adding it to a learning path."
                    )
                if not item.title:
                    item = replace(item, title=exercise.prompt.splitlines()[-1][:120])
            checked.append(item)
        return name, checked

    def create_path(self, name: str, items: Sequence[PathItem], created_by: str) -> LearningPath:
        """A new learning path (see _checked_items for what is refused)."""
        name, checked = self._checked_items(name, items)
        at = _now()
        with self._transaction() as db:
            path_id = int(
                db.execute(
                    "INSERT INTO paths(name, created_by, created_at) VALUES (?,?,?) RETURNING id",
                    (name, created_by, at),
                ).fetchone()[0]
            )
            db.executemany(
                "INSERT INTO path_items(path_id, position, kind, ref, title) VALUES (?,?,?,?,?)",
                [(path_id, i, it.kind, it.ref, it.title) for i, it in enumerate(checked)],
            )
        return LearningPath(path_id, name, tuple(checked), created_by, at)

    def update_path(self, path_id: int, name: str, items: Sequence[PathItem]) -> LearningPath:
        """Rename a path and replace its items (reordered, added, removed). Attempts stay
        stored; progress counts only the items the path has now."""
        self.path(path_id)  # raises UnknownPathError
        name, checked = self._checked_items(name, items)
        with self._transaction() as db:
            db.execute("UPDATE paths SET name = ? WHERE id = ?", (name, path_id))
            db.execute("DELETE FROM path_items WHERE path_id = ?", (path_id,))
            db.executemany(
                "INSERT INTO path_items(path_id, position, kind, ref, title) VALUES (?,?,?,?,?)",
                [(path_id, i, it.kind, it.ref, it.title) for i, it in enumerate(checked)],
            )
        return self.path(path_id)

    def paths_using(self, ref: str) -> list[LearningPath]:
        """The paths that have `ref` (an exercise id, document id or chunk id) as an item."""
        rows = self._fetch(
            "SELECT DISTINCT path_id FROM path_items WHERE ref = ? ORDER BY path_id", (ref,)
        )
        return [self.path(int(row[0])) for row in rows]

    def _items(self, path_id: int) -> tuple[PathItem, ...]:
        rows = self._fetch(
            "SELECT kind, ref, title FROM path_items WHERE path_id = ? ORDER BY position",
            (path_id,),
        )
        return tuple(PathItem(kind, ref, title) for kind, ref, title in rows)

    def path(self, path_id: int) -> LearningPath:
        row = self._fetch_one(
            "SELECT id, name, created_by, created_at FROM paths WHERE id = ?", (path_id,)
        )
        if row is None:
            raise UnknownPathError(
                f"No learning path has the id {path_id}. Pick one from the list of paths."
            )
        return LearningPath(row[0], row[1], self._items(row[0]), row[2], row[3])

    def paths(self) -> list[LearningPath]:
        rows = self._fetch("SELECT id, name, created_by, created_at FROM paths ORDER BY id")
        return [LearningPath(r[0], r[1], self._items(r[0]), r[2], r[3]) for r in rows]

    def assign(self, path_id: int, trainee: str, by: str) -> Assignment:
        """Assign a path to a trainee (a user name). Assigning again keeps the first record."""
        self.path(path_id)
        if not trainee.strip():
            raise TrainingError("Choose the trainee to assign the learning path to.")
        with self._transaction() as db:
            db.execute(
                "INSERT INTO assignments(path_id, trainee, assigned_by, at) VALUES (?,?,?,?) "
                "ON CONFLICT DO NOTHING",
                (path_id, trainee.strip(), by, _now()),
            )
            row = db.execute(
                "SELECT path_id, trainee, assigned_by, at FROM assignments "
                "WHERE path_id = ? AND trainee = ?",
                (path_id, trainee.strip()),
            ).fetchone()
        return Assignment(*row)

    def assignments(self, trainee: str | None = None) -> list[Assignment]:
        query = "SELECT path_id, trainee, assigned_by, at FROM assignments"
        params: tuple[str, ...] = ()
        if trainee is not None:
            query += " WHERE trainee = ?"
            params = (trainee,)
        rows = self._fetch(query + " ORDER BY at, path_id, trainee", params)
        return [Assignment(*row) for row in rows]

    # ------------------------------------------------------------ attempts

    def record_attempt(
        self,
        trainee: str,
        item_id: str,
        answer: GivenAnswer | None,
        score: float | None,
        path_id: int | None = None,
    ) -> Attempt:
        """Store one try. For a document or procedure item, `answer` None and `score` None
        mark it read. `score` comes from kb.training.scoring (0..1)."""
        if score is not None and not 0.0 <= score <= 1.0:
            raise TrainingError(f"score must be between 0 and 1. Currently, score is {score}.")
        if path_id is not None:
            self.path(path_id)
        given = answer or GivenAnswer()
        at = _now()
        with self._transaction() as db:
            attempt_id = int(
                db.execute(
                    "INSERT INTO attempts(trainee, item_id, path_id, answer_json, score, at) "
                    "VALUES (?,?,?,?,?,?) RETURNING id",
                    (trainee, item_id, path_id, _answer_json(given), score, at),
                ).fetchone()[0]
            )
        return Attempt(attempt_id, trainee, item_id, path_id, given, score, at)

    def attempts(self, trainee: str | None = None, path_id: int | None = None) -> list[Attempt]:
        conditions, params = [], []
        if trainee is not None:
            conditions.append("trainee = ?")
            params.append(trainee)
        if path_id is not None:
            conditions.append("path_id = ?")
            params.append(path_id)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = self._fetch(
            "SELECT id, trainee, item_id, path_id, answer_json, score, at FROM attempts"
            f"{where} ORDER BY id",
            params,
        )
        return [Attempt(r[0], r[1], r[2], r[3], _answer_from(r[4]), r[5], r[6]) for r in rows]

    # ------------------------------------------------------------ drill mappings

    def add_mapping(self, message: str, document_id: str, by: str) -> DrillMapping:
        """A trainer's mapping of a customer message to the document that answers it.
        Adding the same pair again returns the existing mapping."""
        message = " ".join(message.split())
        if not message or not document_id:
            raise TrainingError("A call drill needs both a customer message and a document.")
        with self._transaction() as db:
            db.execute(
                "INSERT INTO drill_mappings(message, document_id, created_by, at) "
                "VALUES (?,?,?,?) ON CONFLICT DO NOTHING",
                (message, document_id, by, _now()),
            )
            row = db.execute(
                "SELECT id, message, document_id, created_by, at FROM drill_mappings "
                "WHERE message = ? AND document_id = ?",
                (message, document_id),
            ).fetchone()
        return DrillMapping(*row)

    def mappings(self) -> list[DrillMapping]:
        rows = self._fetch(
            "SELECT id, message, document_id, created_by, at FROM drill_mappings ORDER BY id"
        )
        return [DrillMapping(*row) for row in rows]

"""Background ingestion jobs: what a job is, how it may change state, and where it is kept.

A large upload in the Library becomes a job so the page returns at once: its files are
stored here and a runner (kb.job_runner) ingests them in the background. Everything the
Library shows about a job, and everything a restarted runner needs to resume it, is in this
store: the job (who, when, the batch's options, its state, which runner holds it and when
that runner last said it was alive) and one row per file (pending, done, failed or skipped,
with the outcome and reason).

Where the files' bytes are kept until they are ingested:
* `KB_STORE=local`: a folder per job under the data dir (`jobs/<id>/<position>`);
* `KB_STORE=postgres`: the `data` column of the file's row (bytea), so a runner on any
  replica can take the job over.
Both are emptied when the job ends (the pipeline keeps the originals it ingested).

One code path for both backends (kb.database): `RETURNING id` instead of `lastrowid`,
`ON CONFLICT` instead of `INSERT OR ...`, explicit ORDER BY columns. `BEGIN IMMEDIATE` (the
SQLite write lock, or the schema's advisory lock on PostgreSQL) makes claiming a job atomic
across processes and machines.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from kb.database import is_postgres, open_database, write_transaction
from kb.errors import KBError
from kb.types import Category, DocumentOptions, FileReport, FileStatus


class JobStatus(StrEnum):
    QUEUED = "queued"  # stored, no runner has taken it yet
    RUNNING = "running"  # a runner holds it (its lease is renewed while it works)
    DONE = "done"  # every file done or failed
    CANCELLED = "cancelled"  # stopped on request; files not reached are "skipped"


class FileState(StrEnum):
    PENDING = "pending"
    DONE = "done"  # ingested: added, updated or unchanged (its outcome says which)
    FAILED = "failed"  # with the reason
    SKIPPED = "skipped"  # the job was cancelled before this file


TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED}),
    # RUNNING -> RUNNING: another runner takes over a job whose runner died.
    JobStatus.RUNNING: frozenset({JobStatus.RUNNING, JobStatus.DONE, JobStatus.CANCELLED}),
    JobStatus.DONE: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}
FINISHED = frozenset({JobStatus.DONE, JobStatus.CANCELLED})


class JobError(KBError):
    """A job operation that is not allowed (a finished job cancelled, a role without the right)."""


def check_transition(current: JobStatus, to: JobStatus) -> JobStatus:
    """`to`, if a job in state `current` may move there; else JobError naming both."""
    if to not in TRANSITIONS[current]:
        raise JobError(f"a {current.value} job cannot become {to.value}")
    return to


@dataclass(frozen=True)
class PlannedFile:
    """One file of a new job, located and governed before it is stored (kb.ingest_jobs):
    its name is its document identity, as `kb ingest <folder>` would name it."""

    name: str
    data: bytes | None  # None for a refused file
    options: DocumentOptions | None = None  # its kb-manifest.csv row, if any
    manifest: str | None = None  # the manifest that governs it, if any
    document_id: str | None = None  # an explicit id from the manifest
    refused: str | None = None  # why it is reported and never read


@dataclass(frozen=True)
class JobFile:
    job_id: int
    position: int
    name: str
    state: FileState
    outcome: str | None = None  # a FileStatus value once done or failed
    document_id: str | None = None
    version: int | None = None
    chunks: int = 0
    reason: str | None = None
    options: DocumentOptions | None = None
    manifest: str | None = None
    explicit_id: str | None = None
    refused: str | None = None
    draft: bool = False  # four-eyes publishing: stored, awaiting a second person's review


@dataclass(frozen=True)
class IngestJob:
    id: int
    created_at: str
    created_by: str
    status: JobStatus
    options: DocumentOptions
    total: int
    done: int  # files done (added, updated or unchanged)
    failed: int
    skipped: int
    chunks: int  # passages added by the files done
    cancel_requested: bool
    finished_at: str | None
    runner: str  # "" when no runner holds it
    heartbeat: float  # when that runner last said it was alive (epoch seconds)
    current: str  # the file the runner last finished, shown while it works

    @property
    def processed(self) -> int:
        return self.done + self.failed + self.skipped

    @property
    def pending(self) -> int:
        return self.total - self.processed

    @property
    def groups(self) -> tuple[str, ...]:
        return self.options.groups or ()


def options_to_json(options: DocumentOptions | None) -> str | None:
    if options is None:
        return None
    return json.dumps(
        {
            "category": options.category.value if options.category else None,
            "effective_date": _iso(options.effective_date),
            "expiry_date": _iso(options.expiry_date),
            "groups": list(options.groups) if options.groups is not None else None,
            "owner": options.owner,
            "review_by": _iso(options.review_by),
            "replaces": options.replaces,
        }
    )


def options_from_json(text: str | None) -> DocumentOptions | None:
    if text is None:
        return None
    raw = json.loads(text)
    return DocumentOptions(
        category=Category(raw["category"]) if raw["category"] else None,
        effective_date=_date(raw["effective_date"]),
        expiry_date=_date(raw["expiry_date"]),
        groups=tuple(raw["groups"]) if raw["groups"] is not None else None,
        owner=raw["owner"],
        review_by=_date(raw["review_by"]),
        replaces=raw["replaces"],
    )


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    options_json TEXT NOT NULL,
    status TEXT NOT NULL,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    runner TEXT NOT NULL DEFAULT '',
    heartbeat REAL NOT NULL DEFAULT 0,
    current_file TEXT NOT NULL DEFAULT '',
    started_at TEXT,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs(status, id);
CREATE TABLE IF NOT EXISTS job_files (
    job_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    outcome TEXT,
    document_id TEXT,
    version INTEGER,
    chunks INTEGER NOT NULL DEFAULT 0,
    reason TEXT,
    options_json TEXT,
    manifest TEXT,
    explicit_id TEXT,
    refused TEXT,
    draft INTEGER NOT NULL DEFAULT 0,
    data BLOB,
    PRIMARY KEY (job_id, position)
);
"""
_FILE_COLUMNS = (
    "job_id, position, name, state, outcome, document_id, version, chunks, reason, "
    "options_json, manifest, explicit_id, refused, draft"
)
_JOB_COLUMNS = (
    "id, created_at, created_by, options_json, status, cancel_requested, runner, heartbeat, "
    "current_file, finished_at"
)


class JobStore:
    """Jobs and their files, in `jobs.sqlite` beside the registry (or the `<prefix>_jobs`
    schema). One connection, used by the pages and the runner's threads under one lock, so
    a transaction of one thread never interleaves with another's statements."""

    def __init__(self, path: Path, files_dir: Path) -> None:
        self.db = open_database(path)
        self.shared = is_postgres(self.db)  # bytes in the database, not in files_dir
        self.files_dir = files_dir
        self._lock = threading.RLock()
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self.db.close()

    def _transaction(self) -> AbstractContextManager[Any]:
        """One writer at a time within the process, all-or-nothing in the store."""
        return write_transaction(self.db, self._lock)

    # ------------------------------------------------------------------ creating

    def create(self, by: str, options: DocumentOptions, files: Iterable[PlannedFile]) -> int:
        """Store a new queued job and its files (bytes included); its id. All or nothing:
        a failure while storing leaves no job and no stored bytes behind."""
        folder: Path | None = None
        with self._transaction() as db:
            job_id = int(
                db.execute(
                    "INSERT INTO jobs(created_at, created_by, options_json, status) "
                    "VALUES (?,?,?,?) RETURNING id",
                    (_now(), by, options_to_json(options), JobStatus.QUEUED.value),
                ).fetchone()[0]
            )
            try:
                if not self.shared:
                    folder = self.files_dir / str(job_id)
                    shutil.rmtree(folder, ignore_errors=True)  # a rolled-back job's leftovers
                    folder.mkdir(parents=True, mode=0o700)
                for position, planned in enumerate(files):
                    self._add_file(db, job_id, position, planned, folder)
            except BaseException:
                if folder is not None:
                    shutil.rmtree(folder, ignore_errors=True)
                raise
        return job_id

    def _add_file(
        self, db: Any, job_id: int, position: int, planned: PlannedFile, folder: Path | None
    ) -> None:
        stored = planned.data if self.shared else None
        if folder is not None and planned.data is not None:
            (folder / str(position)).write_bytes(planned.data)
        db.execute(
            "INSERT INTO job_files(job_id, position, name, state, options_json, manifest, "
            "explicit_id, refused, data) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                job_id, position, planned.name, FileState.PENDING.value,
                options_to_json(planned.options), planned.manifest, planned.document_id,
                planned.refused, stored,
            ),
        )  # fmt: skip

    # ------------------------------------------------------------------ reading

    def job(self, job_id: int) -> IngestJob:
        with self._lock:
            row = self.db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
            row = row.fetchone()
            if row is None:
                raise JobError(f"no job with id {job_id}")
            return self._job(row)

    def jobs(self, limit: int = 20) -> list[IngestJob]:
        """The newest jobs first."""
        with self._lock:
            rows = self.db.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
            return [self._job(r) for r in rows]

    def unfinished(self) -> list[int]:
        """Ids of the jobs a runner still has to take or finish, oldest first."""
        with self._lock:
            rows = self.db.execute(
                "SELECT id FROM jobs WHERE status IN (?, ?) ORDER BY id",
                (JobStatus.QUEUED.value, JobStatus.RUNNING.value),
            ).fetchall()
            return [int(r[0]) for r in rows]

    def _job(self, row: Any) -> IngestJob:
        counts = {state: (0, 0) for state in FileState}
        for state, n, chunks in self.db.execute(
            "SELECT state, COUNT(*), COALESCE(SUM(chunks), 0) FROM job_files WHERE job_id = ? "
            "GROUP BY state",
            (row[0],),
        ).fetchall():
            counts[FileState(state)] = (int(n), int(chunks))
        return IngestJob(
            id=int(row[0]),
            created_at=row[1],
            created_by=row[2],
            options=options_from_json(row[3]) or DocumentOptions(),
            status=JobStatus(row[4]),
            cancel_requested=bool(row[5]),
            runner=row[6],
            heartbeat=float(row[7]),
            current=row[8],
            finished_at=row[9],
            total=sum(n for n, _ in counts.values()),
            done=counts[FileState.DONE][0],
            failed=counts[FileState.FAILED][0],
            skipped=counts[FileState.SKIPPED][0],
            chunks=counts[FileState.DONE][1],
        )

    def files(self, job_id: int, state: FileState | None = None) -> list[JobFile]:
        """The job's files in upload order, optionally only those in `state`."""
        where, params = "job_id = ?", [job_id]
        if state is not None:
            where, params = where + " AND state = ?", [job_id, state.value]
        with self._lock:
            rows = self.db.execute(
                f"SELECT {_FILE_COLUMNS} FROM job_files WHERE {where} ORDER BY position", params
            ).fetchall()
        return [
            JobFile(
                job_id=int(r[0]), position=int(r[1]), name=r[2], state=FileState(r[3]),
                outcome=r[4], document_id=r[5], version=r[6], chunks=int(r[7]), reason=r[8],
                options=options_from_json(r[9]), manifest=r[10], explicit_id=r[11], refused=r[12],
                draft=bool(r[13]),
            )
            for r in rows
        ]  # fmt: skip

    def data(self, file: JobFile) -> bytes:
        """The stored bytes of a pending file."""
        if not self.shared:
            path = self.files_dir / str(file.job_id) / str(file.position)
            try:
                return path.read_bytes()
            except OSError as e:
                raise JobError(f"the stored copy of {file.name} is missing: {e.strerror}") from e
        with self._lock:
            row = self.db.execute(
                "SELECT data FROM job_files WHERE job_id = ? AND position = ?",
                (file.job_id, file.position),
            ).fetchone()
        if row is None or row[0] is None:
            raise JobError(f"the stored copy of {file.name} is missing")
        return bytes(row[0])

    # ------------------------------------------------------------------ running

    def claim(
        self, runner: str, lease_seconds: float, is_gone: Any
    ) -> tuple[IngestJob, str] | None:
        """Take the oldest unfinished job for `runner`, if no other live runner holds one
        (one job at a time per knowledge base); the job and the runner it was taken from
        ("" for a queued job). `is_gone(runner)` says whether another runner is known dead
        (a process of this machine that no longer exists) before its lease runs out."""
        now = time.time()
        with self._transaction() as db:
            rows = db.execute(
                "SELECT id, status, runner, heartbeat FROM jobs WHERE status IN (?, ?) ORDER BY id",
                (JobStatus.QUEUED.value, JobStatus.RUNNING.value),
            ).fetchall()
            for _, status, holder, heartbeat in rows:
                held = status == JobStatus.RUNNING.value and holder not in ("", runner)
                if held and now - float(heartbeat) < lease_seconds and not is_gone(holder):
                    return None  # another runner is at work on this knowledge base
            for job_id, status, holder, _ in rows:
                check_transition(JobStatus(status), JobStatus.RUNNING)
                db.execute(
                    "UPDATE jobs SET status = ?, runner = ?, heartbeat = ?, "
                    "started_at = COALESCE(started_at, ?) WHERE id = ?",
                    (JobStatus.RUNNING.value, runner, now, _now(), job_id),
                )
                return self.job(int(job_id)), holder if holder != runner else ""
        return None

    def renew(self, job_id: int, runner: str) -> bool:
        """Say `runner` is alive; False if the job is no longer its own (taken over)."""
        with self._lock:
            cursor = self.db.execute(
                "UPDATE jobs SET heartbeat = ? WHERE id = ? AND runner = ? AND status = ?",
                (time.time(), job_id, runner, JobStatus.RUNNING.value),
            )
            return cursor.rowcount == 1

    def note_current(self, job_id: int, name: str) -> bool:
        """Record the file just processed (shown on the page); whether cancelling was asked."""
        with self._lock:
            self.db.execute("UPDATE jobs SET current_file = ? WHERE id = ?", (name, job_id))
            row = self.db.execute(
                "SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)
            ).fetchone()
        return bool(row[0])

    def record(self, job_id: int, outcomes: list[tuple[int, FileReport]]) -> None:
        """The outcomes of files whose batch has committed, in one transaction."""
        with self._transaction() as db:
            for position, report in outcomes:
                state = FileState.FAILED if report.status == FileStatus.FAILED else FileState.DONE
                db.execute(
                    "UPDATE job_files SET state = ?, outcome = ?, document_id = ?, version = ?, "
                    "chunks = ?, reason = ?, draft = ?, data = NULL WHERE job_id = ? AND position = ?",
                    (
                        state.value, report.status.value, report.document_id, report.version,
                        report.chunks, report.reason, int(report.draft), job_id, position,
                    ),
                )  # fmt: skip
        if not self.shared:
            for position, _ in outcomes:
                (self.files_dir / str(job_id) / str(position)).unlink(missing_ok=True)

    def request_cancel(self, job_id: int) -> IngestJob:
        """Cancel a queued job at once; ask the runner of a running one to stop (it does
        after the file in hand, rolling back its unfinished batch)."""
        with self._transaction() as db:
            job = self.job(job_id)
            check_transition(job.status, JobStatus.CANCELLED)
            db.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
            if job.status == JobStatus.QUEUED:
                self._end(db, job_id, JobStatus.CANCELLED)
        if job.status == JobStatus.QUEUED:
            self._drop_bytes(job_id)
        return self.job(job_id)

    def finish(self, job_id: int, runner: str) -> IngestJob:
        """End a job its runner has worked through: done, or cancelled if that was asked
        (files never reached become skipped). Stored bytes are dropped."""
        with self._transaction() as db:
            job = self.job(job_id)
            if job.runner != runner or job.status != JobStatus.RUNNING:
                raise JobError(f"job {job_id} is not held by this runner")
            to = JobStatus.CANCELLED if job.cancel_requested else JobStatus.DONE
            check_transition(job.status, to)
            self._end(db, job_id, to)
        self._drop_bytes(job_id)
        return self.job(job_id)

    def release(self, job_id: int, runner: str) -> None:
        """Let another runner take the job at once (this one stops without finishing it)."""
        with self._lock:
            self.db.execute(
                "UPDATE jobs SET runner = '', heartbeat = 0 WHERE id = ? AND runner = ?",
                (job_id, runner),
            )

    def _end(self, db: Any, job_id: int, status: JobStatus) -> None:
        db.execute(
            "UPDATE job_files SET state = ?, data = NULL WHERE job_id = ? AND state = ?",
            (FileState.SKIPPED.value, job_id, FileState.PENDING.value),
        )
        db.execute(
            "UPDATE jobs SET status = ?, finished_at = ?, runner = '', current_file = '' "
            "WHERE id = ?",
            (status.value, _now(), job_id),
        )

    def _drop_bytes(self, job_id: int) -> None:
        if not self.shared:
            shutil.rmtree(self.files_dir / str(job_id), ignore_errors=True)

"""One way to open the SQLite files beside the knowledge base.

Every store (registry, audit, users, tokens, calls, feedback, questions, training) is a
SQLite file shared by the app, the API and the CLI, often from several threads at once: so
each connection is in autocommit (the stores open their own transactions), waits up to 30 s
for a writer instead of failing at once, may be used from any thread (callers that need a
multi-statement transaction hold their own lock), and uses the write-ahead log so readers
never block the writer.

Stores that hold secrets (password hashes, token hashes) open with `private=True`: the file
is created readable and writable by its owner only (0600) before SQLite opens it, and an
existing file is narrowed to 0600. SQLite gives its -wal and -shm files the database file's
permissions, so they are private too.

With `KB_STORE=postgres` the same stores live in PostgreSQL instead (kb.postgres): a Settings
object for such a base binds its data folder to the database (`bind`), and every store file
under that folder then opens as a schema of its own, `<KB_DATABASE_SCHEMA>_<file stem>`. The
stores keep one code path; where SQL really differs they branch on `dialect(db)`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRIVATE_MODE = 0o600


class SqliteConnection(sqlite3.Connection):
    """sqlite3's connection, saying which SQL dialect it speaks (as kb.postgres's does)."""

    dialect = "sqlite"


@dataclass(frozen=True)
class PostgresTarget:
    url: str
    namespace: str


_bindings: dict[Path, PostgresTarget] = {}
_bindings_lock = threading.Lock()


def bind(data_dir: Path, url: str, namespace: str) -> None:
    """Store files under `data_dir` open in PostgreSQL at `url`, schemas `<namespace>_*`."""
    with _bindings_lock:
        _bindings[data_dir.expanduser().resolve()] = PostgresTarget(url, namespace)


def unbind(data_dir: Path) -> None:
    with _bindings_lock:
        _bindings.pop(data_dir.expanduser().resolve(), None)


def postgres_target(path: Path) -> PostgresTarget | None:
    """The PostgreSQL database a store file at `path` lives in, None for a local file."""
    if not _bindings:
        return None
    folder = path.expanduser().resolve().parent
    with _bindings_lock:
        for candidate in (folder, *folder.parents):
            if candidate in _bindings:
                return _bindings[candidate]
    return None


def dialect(db: Any) -> str:
    """'sqlite' or 'postgres': which SQL a store's connection speaks."""
    return getattr(db, "dialect", "sqlite")


def is_postgres(db: Any) -> bool:
    return dialect(db) == "postgres"


def create_private_file(path: Path) -> None:
    """Make `path` an owner-only (0600) file: created so if missing, narrowed if wider."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_MODE))
    if stat.S_IMODE(path.stat().st_mode) & ~PRIVATE_MODE:
        path.chmod(PRIVATE_MODE)


def open_database(path: Path, rows: bool = False, private: bool = False) -> Any:
    """A connection to `path` (its folder made if missing); `rows`: rows as sqlite3.Row;
    `private`: the file is owner-only (0600), for stores that hold secrets.

    Under a folder bound to PostgreSQL (`bind`), a kb.postgres.PgConnection to the store's
    schema instead (rows readable by name and position either way)."""
    target = postgres_target(path)
    if target is not None:
        from kb.postgres import PgConnection, schema_name

        return PgConnection(target.url, schema_name(target.namespace, path.stem))
    path.parent.mkdir(parents=True, exist_ok=True)
    if private:
        create_private_file(path)
    db = sqlite3.connect(
        path,
        isolation_level=None,
        timeout=BUSY_SECONDS,
        check_same_thread=False,
        factory=SqliteConnection,
    )
    if rows:
        db.row_factory = sqlite3.Row
    _use_wal(db, BUSY_SECONDS)
    return db


BUSY_SECONDS = 30
"""How long a SQLite store waits for another process's lock before giving up."""


def _use_wal(db: sqlite3.Connection, seconds: float) -> None:
    """Switch `db` to write-ahead logging, waiting out another process's lock.

    SQLite can answer this PRAGMA "database is locked" at once, without its busy handler,
    while another process is itself opening or switching the same new file (two `kb ingest`
    started together on an empty folder failed so in CI), so it is retried until `seconds`."""
    deadline = time.monotonic() + seconds
    pause = 0.01
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)


@contextlib.contextmanager
def write_transaction(db: Any, lock: threading.Lock | threading.RLock) -> Iterator[Any]:
    """One writer at a time within the process (`lock`), across processes by the engine's
    write lock (`BEGIN IMMEDIATE`; an advisory lock on PostgreSQL), all or nothing."""
    with lock:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

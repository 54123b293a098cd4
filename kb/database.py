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
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from pathlib import Path

PRIVATE_MODE = 0o600


def create_private_file(path: Path) -> None:
    """Make `path` an owner-only (0600) file: created so if missing, narrowed if wider."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_MODE))
    if stat.S_IMODE(path.stat().st_mode) & ~PRIVATE_MODE:
        path.chmod(PRIVATE_MODE)


def open_database(path: Path, rows: bool = False, private: bool = False) -> sqlite3.Connection:
    """A connection to `path` (its folder made if missing); `rows`: rows as sqlite3.Row;
    `private`: the file is owner-only (0600), for stores that hold secrets."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if private:
        create_private_file(path)
    db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    if rows:
        db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    return db

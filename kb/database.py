"""One way to open the SQLite files beside the knowledge base.

Every store (registry, audit, users, tokens, calls, feedback, questions, training) is a
SQLite file shared by the app, the API and the CLI, often from several threads at once: so
each connection is in autocommit (the stores open their own transactions), waits up to 30 s
for a writer instead of failing at once, may be used from any thread (callers that need a
multi-statement transaction hold their own lock), and uses the write-ahead log so readers
never block the writer.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_database(path: Path, rows: bool = False) -> sqlite3.Connection:
    """A connection to `path` (its folder made if missing); `rows`: rows as sqlite3.Row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    if rows:
        db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    return db

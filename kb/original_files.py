"""The uploaded files themselves, kept so an agent can open exactly what was ingested.

Named by content hash plus the upload's extension (`<sha256>.pdf`), so a name never changes
meaning and two versions with the same bytes share one file.

* `KB_STORE=local`: files in the knowledge base's `originals` folder, as always.
* `KB_STORE=postgres`: replicas on several machines must all open them, so the bytes live in
  the registry's schema (`originals(name, data bytea)`), written by the ingest's own
  transaction: an ingest that fails halfway leaves no file behind, and the version naming
  a file commits with it. The `originals` folder is then only this machine's cache (the
  viewer, the API and pypdfium2 want a path): filled on first use, and emptied of files the
  database no longer names whenever the registry's generation moves (`sync`), so a purge on
  one replica leaves no copy on another.

Why bytea and not large objects or a file share: bytea rows are deleted with the row, copied
by `pg_dump` with the rest, and need no second storage system to back up; uploads are
policy documents of a few megabytes, well within what bytea handles.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from kb.config import Settings
from kb.database import is_postgres

logger = logging.getLogger(__name__)


def file_name(digest: str, suffix: str) -> str:
    """The stored name of an upload: its content hash and its (lower-case) extension."""
    return f"{digest}{suffix.lower()}"


class OriginalFiles:
    """Stored uploads of one knowledge base, in its folder or in its PostgreSQL registry."""

    def __init__(self, settings: Settings) -> None:
        self.folder = settings.originals_dir
        self.shared = settings.uses_postgres

    @staticmethod
    def create(db: Any) -> None:
        """The table of the shared store (PostgreSQL only), once, under the schema's write
        lock (replicas starting together); inside the caller's transaction if it has one."""
        if not is_postgres(db):
            return
        if db.execute("SELECT to_regclass('originals')").fetchone()[0] is not None:
            return
        owned = not db.in_transaction
        if owned:
            db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "CREATE TABLE IF NOT EXISTS originals (name TEXT PRIMARY KEY, data BYTEA NOT NULL)"
            )
        except BaseException:
            if owned:
                db.execute("ROLLBACK")
            raise
        if owned:
            db.execute("COMMIT")

    def keep(self, db: Any, data: bytes, name: str) -> str:
        """Store `data` as `name` (see `file_name`); on PostgreSQL through `db`, the writer's
        registry connection, so it commits or rolls back with the ingest."""
        if self.shared:
            db.execute(
                "INSERT INTO originals (name, data) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                (name, data),
            )
        self._write(name, data)
        return name

    def path(self, db: Any, name: str) -> Path:
        """Where the file named `name` can be read on this machine. On PostgreSQL it is
        fetched into the cache first; a name the database no longer holds (purged) loses
        its cached copy, and the returned path does not exist, as for a missing local file."""
        target = self.folder / name
        if not self.shared:
            return target
        row = db.execute("SELECT data FROM originals WHERE name = ?", (name,)).fetchone()
        if row is None:
            target.unlink(missing_ok=True)
        elif not target.exists():
            self._write(name, bytes(row[0]))
        return target

    def names(self, db: Any) -> set[str]:
        """Every stored file's name."""
        if self.shared:
            return {r[0] for r in db.execute("SELECT name FROM originals")}
        return {p.name for p in self._files()}

    def read(self, db: Any, name: str) -> bytes | None:
        if self.shared:
            row = db.execute("SELECT data FROM originals WHERE name = ?", (name,)).fetchone()
            return bytes(row[0]) if row is not None else None
        target = self.folder / name
        return target.read_bytes() if target.is_file() else None

    def remove_unnamed(self, db: Any, named: set[str]) -> int:
        """Delete the stored files no version names (after a purge); how many."""
        removed = 0
        if self.shared:
            unnamed = self.names(db) - named
            if unnamed:
                db.execute("DELETE FROM originals WHERE name = ANY(?)", (sorted(unnamed),))
            removed = len(unnamed)
        for path in self._files():
            if path.name not in named:
                path.unlink(missing_ok=True)
                removed += 0 if self.shared else 1
        return removed

    def sync(self, db: Any) -> int:
        """PostgreSQL: drop cached files the database no longer holds; how many."""
        if not self.shared or not self.folder.is_dir():
            return 0
        stored = self.names(db)
        stale = [p for p in self._files() if p.name not in stored]
        for path in stale:
            path.unlink(missing_ok=True)
        return len(stale)

    def _files(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return [p for p in self.folder.iterdir() if p.is_file() or p.is_symlink()]

    def _write(self, name: str, data: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / name
        if target.exists():
            return
        tmp = target.with_name(f".{name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(target)

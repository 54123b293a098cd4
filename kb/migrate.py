"""`kb migrate --to postgres`: move a local knowledge base into PostgreSQL, without re-embedding.

What is copied, and how:

* every store's rows (registry: documents, every version, chunks, reviews, staged audit rows;
  the audit trail with its seal; users, integration tokens, feedback, questions, training,
  calls, escalation rules), **as they are**, table by table by column name: the stores write
  the same schema on both engines (kb.postgres), so nothing is re-derived. The audit rows keep
  their ids, hashes and seal, so `kb audit verify` passes afterwards with the same key file.
  Sign-in sessions are not copied (people sign in again);
* the lexical terms, through the target registry's own `add_terms` (SQLite keeps them in an
  FTS5 table, PostgreSQL in its own index);
* the vectors, read from the current FAISS generation (kb.index) into pgvector
  (kb.pgvector_index): the same floats, no model run;
* the uploaded originals, into the registry's `originals` table (kb.original_files).

The source is read with sqlite3 directly (read-only), not through kb.database: the target's
Settings bind the same data folder to PostgreSQL, and the SQLite files stay where they are
as a backup. The target must be empty (no rows in any schema of its namespace); a failure
part-way drops what was created, so the command can be run again.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kb.config import Settings
from kb.errors import KBError
from kb.ports import Embedder

logger = logging.getLogger(__name__)

SKIPPED_STORES = frozenset({"sessions"})
"""Stores not copied: sign-in sessions are tied to this server's cookies (sign in again)."""

VECTOR_BATCH = 500

Progress = Callable[[str, int, int], None]
"""progress(step, done, total)"""


@dataclass(frozen=True)
class StoreCopy:
    """One store's rows copied: table name -> rows."""

    store: str
    tables: tuple[tuple[str, int], ...]

    @property
    def rows(self) -> int:
        return sum(n for _, n in self.tables)


@dataclass(frozen=True)
class MigrationReport:
    stores: tuple[StoreCopy, ...]
    terms: int
    vectors: int
    originals: int
    skipped: tuple[str, ...]  # store files not copied (sessions, unknown ones)

    def rows(self, store: str, table: str) -> int:
        for copied in self.stores:
            if copied.store == store:
                return dict(copied.tables).get(table, 0)
        return 0


# ------------------------------------------------------------------ the target's stores


def _open_store(stem: str, path: Path, settings: Settings) -> Any:
    """Open the target store a source file belongs to, so it creates its own schema (DDL
    written once for both engines); None for a store that is not copied."""
    if stem == "registry":
        from kb.registry import Registry

        return Registry(path)
    if stem == "audit":
        from kb.audit import AuditLog

        return AuditLog(path, settings.audit_key_path)
    if stem == "users":
        from kb.users import UserStore

        return UserStore(path)
    if stem == "feedback":
        from kb.feedback import FeedbackStore

        return FeedbackStore(path)
    if stem == "questions":
        from kb.querylog import QueryLog

        return QueryLog(path)
    if stem == "training":
        from kb.training.store import TrainingStore

        return TrainingStore(path)
    if stem == "calls":
        from kb.calls import CallStore

        return CallStore(path)
    if stem == "tokens":
        from kb.tokens import TokenStore

        return TokenStore(path)
    if stem == "escalation":
        from kb.escalation import RuleStore

        return RuleStore(path)
    return None


def _close(store: Any) -> None:
    close = getattr(store, "close", None)
    if close is not None:
        close()


# ------------------------------------------------------------------ checks


def target_tables_with_rows(url: str, namespace: str) -> list[str]:
    """`schema.table` of every table of the namespace that holds at least one row."""
    import psycopg

    found: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname LIKE %s ORDER BY 1, 2",
            (namespace.replace("_", r"\_") + r"\_%",),
        ).fetchall()
        for schema, table in tables:
            row = conn.execute(f'SELECT EXISTS (SELECT 1 FROM "{schema}"."{table}")').fetchone()
            if row and row[0]:
                found.append(f"{schema}.{table}")
    return found


def _source(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    return db


def _copyable_tables(source: sqlite3.Connection) -> list[str]:
    """Ordinary tables, parents before the tables whose foreign keys name them; FTS5
    virtual tables and their shadow tables are not rows of the store's schema."""
    rows = source.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    virtual = [r["name"] for r in rows if (r["sql"] or "").upper().startswith("CREATE VIRTUAL")]
    tables = sorted(
        r["name"]
        for r in rows
        if r["name"] not in virtual and not any(r["name"].startswith(v + "_") for v in virtual)
    )
    parents = {
        t: {r["table"] for r in source.execute(f'PRAGMA foreign_key_list("{t}")')} - {t}
        for t in tables
    }
    ordered: list[str] = []
    while len(ordered) < len(tables):
        ready = [t for t in tables if t not in ordered and parents[t] <= set(ordered)]
        if not ready:  # a cycle: keep the rest in name order
            ready = [t for t in tables if t not in ordered]
        ordered += ready
    return ordered


def _audit_outbox() -> str:
    from kb.audit import _POSTGRES_OUTBOX

    return _POSTGRES_OUTBOX


_MADE_ON_FIRST_USE: dict[str, Callable[[], str]] = {"audit_outbox": _audit_outbox}
"""Tables a store creates when first used (kb.audit.stage): made in the target when the
source's holds rows (events staged but not yet delivered)."""


def _target_columns(db: Any, table: str) -> list[str]:
    return [
        r[0]
        for r in db.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? "
            "AND table_name = ? ORDER BY ordinal_position",
            (db.schema, table),
        )
    ]


def _copy_table(source: sqlite3.Connection, db: Any, table: str) -> int:
    """Copy `table`'s rows by column name; the target's identity counters then continue
    after the copied ids. Rows a store's constructor wrote in the target are replaced."""
    target = _target_columns(db, table)
    if not target:
        if not source.execute(f'SELECT EXISTS (SELECT 1 FROM "{table}")').fetchone()[0]:
            return 0
        if table not in _MADE_ON_FIRST_USE:
            raise KBError(f"the table {table} has rows but no counterpart in {db.schema}")
        db.execute(_MADE_ON_FIRST_USE[table]())
        target = _target_columns(db, table)
    columns = [r["name"] for r in source.execute(f'PRAGMA table_info("{table}")')]
    shared = [c for c in columns if c in target]
    if db.execute(f'SELECT EXISTS (SELECT 1 FROM "{table}")').fetchone()[0]:
        db.execute(f'DELETE FROM "{table}"')
    names = ", ".join(f'"{c}"' for c in shared)
    marks = ", ".join("?" * len(shared))
    try:  # in the order written (an identity column then numbers them in that order)
        found = source.execute(f'SELECT {names} FROM "{table}" ORDER BY rowid')
    except sqlite3.OperationalError:  # WITHOUT ROWID
        found = source.execute(f'SELECT {names} FROM "{table}"')
    rows = [tuple(r) for r in found]
    if rows:
        db.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)
    identities = db.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND "
        "table_name = ? AND is_identity = 'YES'",
        (db.schema, table),
    ).fetchall()
    for (column,) in identities if rows else ():
        db.execute(
            f'SELECT setval(pg_get_serial_sequence(?, ?), (SELECT max("{column}") FROM "{table}"))',
            (f'"{db.schema}"."{table}"', column),
        )
    return len(rows)


def _in_transaction(db: Any, work: Callable[[], Any]) -> Any:
    db.execute("BEGIN IMMEDIATE")
    try:
        result = work()
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return result


# ------------------------------------------------------------------ the registry's extras


def _faiss_vectors(source: Settings, generation: int, embedder: Embedder) -> tuple[list, Any]:
    """Chunk ids and vectors of the local base's current FAISS generation."""
    from kb.index import FaissIndex

    if generation == 0:
        return [], np.zeros((0, embedder.dimension), dtype=np.float32)
    index = FaissIndex.load(source.index_dir, generation, embedder, lambda ids: {})
    faiss_index = index.store.index
    return index.ids, faiss_index.reconstruct_n(0, faiss_index.ntotal)


def _copy_registry_extras(
    source: Settings,
    target: Settings,
    registry: Any,
    source_db: sqlite3.Connection,
    embedder: Embedder,
    progress: Progress,
) -> tuple[int, int, int]:
    """Terms, vectors and originals, in the registry's transaction (the caller's)."""
    from kb.original_files import OriginalFiles
    from kb.pgvector_index import PgVectorIndex

    terms = [(r[0], r[1]) for r in source_db.execute("SELECT chunk_id, terms FROM chunk_terms")]
    if terms:
        registry.add_terms(terms)
    progress("terms", len(terms), len(terms))

    row = source_db.execute("SELECT value FROM meta WHERE key = 'index_generation'").fetchone()
    ids, vectors = _faiss_vectors(source, int(row[0]) if row else 0, embedder)
    index = PgVectorIndex(registry.db, embedder)
    for start in range(0, len(ids), VECTOR_BATCH):
        index.add(ids[start : start + VECTOR_BATCH], vectors[start : start + VECTOR_BATCH])
        progress("vectors", min(start + VECTOR_BATCH, len(ids)), len(ids))

    originals = OriginalFiles(target)
    OriginalFiles.create(registry.db)
    files = (
        sorted(p for p in source.originals_dir.iterdir() if p.is_file())
        if source.originals_dir.is_dir()
        else []
    )
    for done, path in enumerate(files, start=1):
        if not path.name.endswith(".tmp"):
            originals.keep(registry.db, path.read_bytes(), path.name)
        progress("originals", done, len(files))
    return len(terms), len(ids), len(files)


# ------------------------------------------------------------------ the migration


def migrate_to_postgres(
    source: Settings,
    target: Settings,
    embedder: Embedder,
    progress: Progress | None = None,
) -> MigrationReport:
    """Copy the local base `source` into the empty PostgreSQL base `target` (see module)."""
    from kb.postgres import drop_namespace

    if source.uses_postgres or not target.uses_postgres or not target.database_url:
        raise KBError("kb migrate copies a local knowledge base (KB_STORE=local) into PostgreSQL")
    if not source.registry_path.exists():
        raise KBError(f"there is no local knowledge base in {source.data_dir} to migrate")
    full = target_tables_with_rows(target.database_url, target.database_schema)
    if full:
        raise KBError(
            f"the PostgreSQL store '{target.database_schema}' already holds data ({full[0]}, "
            f"{len(full)} tables with rows); migrate into an empty one or choose another "
            "KB_DATABASE_SCHEMA"
        )
    step = progress or (lambda name, done, total: None)
    stores: list[StoreCopy] = []
    skipped: list[str] = []
    extras = (0, 0, 0)
    # The registry first: the largest copy, and the audit trail's staged rows live in it.
    files = sorted(source.data_dir.glob("*.sqlite"), key=lambda p: (p.stem != "registry", p.stem))
    try:
        for path in files:
            copied = None
            if path.stem not in SKIPPED_STORES:
                copied = _copy_store(path, source, target, embedder, step)
            if copied is None:
                skipped.append(path.stem)
                continue
            stores.append(copied[0])
            if path.stem == "registry":
                extras = copied[1]
    except BaseException:
        # The target was empty: leave it so, and the command can run again.
        drop_namespace(target.database_url, target.database_schema)
        raise
    return MigrationReport(tuple(stores), *extras, tuple(skipped))


def _copy_store(
    path: Path, source: Settings, target: Settings, embedder: Embedder, step: Progress
) -> tuple[StoreCopy, tuple[int, int, int]] | None:
    """One store file into its schema, in one transaction; None for a file that is not a
    store kb migrate knows."""
    from kb.database import open_database

    stem = path.stem
    store = _open_store(stem, target.data_dir / path.name, target)
    if store is None:
        logger.warning("%s is not a store kb migrate knows: not copied", path.name)
        return None
    # The registry's own connection, so its add_terms joins the copy's transaction.
    db = store.db if stem == "registry" else open_database(target.data_dir / path.name)
    try:
        with closing(_source(path)) as source_db:

            def work() -> tuple[list[tuple[str, int]], tuple[int, int, int]]:
                tables: list[tuple[str, int]] = []
                for table in _copyable_tables(source_db):
                    tables.append((table, _copy_table(source_db, db, table)))
                    step(f"{stem}.{table}", tables[-1][1], tables[-1][1])
                extras = (0, 0, 0)
                if stem == "registry":
                    extras = _copy_registry_extras(source, target, store, source_db, embedder, step)
                return tables, extras

            tables, extras = _in_transaction(db, work)
    finally:
        if stem != "registry":
            db.close()
        _close(store)
    return StoreCopy(stem, tuple(tables)), extras

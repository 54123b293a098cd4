"""The registry: documents, their versions, their chunks, and the current index generation.

It is the source of truth; the vector index is derived from it. A whole ingest batch (or a
checkpoint of it) is one transaction that ends by naming the new index generation, so readers
always see a registry and an index that agree. WAL mode lets the app keep answering from the
previous state while an ingest is writing.

Two engines, one code path: a SQLite file (KB_STORE=local), or the `<prefix>_registry` schema
in PostgreSQL (KB_STORE=postgres, kb.postgres). The queries are the same; only the schema
differs: SQLite's lexical index is an FTS5 table, PostgreSQL's a table with a generated
tsvector (kb.lexical_pg), and SQLite's `json_each` (the access rule's SQL, kb.access) is a
small function of the registry's schema there. A SQLite file written by an earlier release is
migrated when opened; a PostgreSQL schema is created at the current version.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from kb import lexical_pg
from kb.database import is_postgres, open_database
from kb.errors import DocumentNotFoundError
from kb.lexical import ensure_current_terms, purge_terms
from kb.plain import from_plain, to_plain
from kb.publishing import Draft, ReviewState
from kb.types import (
    Category,
    Chunk,
    ChunkKind,
    DocumentInfo,
    DocumentRecord,
    PageConfidence,
    VersionRecord,
)
from kb.validity import DatedVersion, in_force, line_up, scheduled_after

_VERSION_STATUSES = "'current', 'superseded', 'deleted', 'draft', 'rejected', 'withdrawn'"
"""A version's states: live ('current': in force or scheduled), retired, deleted, and under
four-eyes publishing (kb.publishing) awaiting review, rejected or withdrawn. Only 'current'
answers; a 'draft' is indexed too, for the reviewers' preview."""

_VERSIONS_COLUMNS = """
    document_id TEXT NOT NULL REFERENCES documents(document_id),
    version INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    source_name TEXT NOT NULL,
    format TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ({statuses})),
    ingested_at TEXT NOT NULL,
    chunk_count INTEGER NOT NULL,
    page_count INTEGER,
    byte_size INTEGER NOT NULL,
    original_path TEXT,
    effective_date TEXT,
    expiry_date TEXT,
    replaced_on TEXT,
    PRIMARY KEY (document_id, version)
""".replace("{statuses}", _VERSION_STATUSES)

_OCR_PAGES = """
CREATE TABLE IF NOT EXISTS ocr_pages (
    document_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    page INTEGER NOT NULL,
    confidence REAL NOT NULL,
    PRIMARY KEY (document_id, version, page),
    FOREIGN KEY (document_id, version) REFERENCES versions(document_id, version)
);
"""
"""The OCR confidence of each scanned page of a version (ingest.ocr); a version whose pages
all had a text layer has no rows. A table of its own, created when missing, so registries
from before (SQLite or PostgreSQL) need nothing else."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    document_id TEXT PRIMARY KEY,
    source_key TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    source_name TEXT NOT NULL,
    format TEXT NOT NULL,
    language TEXT NOT NULL,
    category TEXT NOT NULL,
    effective_date TEXT,
    expiry_date TEXT,
    groups_json TEXT NOT NULL,
    owner TEXT,
    review_by TEXT,
    current_version INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS versions ({versions_columns});
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    section_path_json TEXT NOT NULL,
    pages_json TEXT NOT NULL,
    language TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    table_rows_json TEXT NOT NULL,
    FOREIGN KEY (document_id, version) REFERENCES versions(document_id, version)
);
CREATE INDEX IF NOT EXISTS chunks_by_version ON chunks(document_id, version);
{chunk_terms}
CREATE TABLE IF NOT EXISTS reviews (
    document_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    submitted_by TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    info_json TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('draft', 'approved', 'rejected', 'withdrawn')),
    reviewer TEXT,
    comment TEXT,
    decided_at TEXT,
    PRIMARY KEY (document_id, version)
);
""".replace("{versions_columns}", _VERSIONS_COLUMNS)

_FTS5_TERMS = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS chunk_terms USING fts5(chunk_id UNINDEXED, terms);"
)

_JSON_EACH = """
CREATE OR REPLACE FUNCTION json_each(document text) RETURNS TABLE (value text)
LANGUAGE sql IMMUTABLE AS $$ SELECT jsonb_array_elements_text(document::jsonb) $$;
"""
"""SQLite's `json_each(text)` over an array, for the one place the registry's SQL reads JSON
(kb.access.readable_sql over `groups_json`): PostgreSQL's own json_each takes json objects,
and a function of the same name taking text, in the registry's schema, lets the access rule
stay one SQL condition that both engines run (it is chosen over pg_catalog's by its type)."""

_SQLITE_SCHEMA = _SCHEMA.replace("{chunk_terms}", _FTS5_TERMS) + _OCR_PAGES
_POSTGRES_SCHEMA = (
    _SCHEMA.replace("{chunk_terms}", "") + _OCR_PAGES + lexical_pg.SCHEMA + _JSON_EACH
)
_REGISTRY_TABLES = (
    "chunk_terms",
    "lexical_terms",
    "chunks",
    "reviews",
    "ocr_pages",
    "versions",
    "documents",
)


_CHUNKS_KEPT = 4096
"""Chunks Registry keeps on PostgreSQL for pinned questions (`_kept_chunks`), a few MB."""


@dataclass(frozen=True)
class PurgedRows:
    """What `Registry.purge_document` erased: counts and version numbers, never content."""

    document_id: str
    versions: tuple[int, ...]
    chunk_ids: tuple[str, ...]  # every version's chunks (the index holds the current ones)
    terms: int  # lexical rows erased
    originals: tuple[str, ...]  # original files no other version names: the caller deletes them


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _dated(row: sqlite3.Row) -> DatedVersion:
    return DatedVersion(
        row["version"],
        _date(row["effective_date"]),
        _date(row["expiry_date"]),
        _date(row["replaced_on"]),
    )


_VERSION_DATES = ("effective_date", "expiry_date", "replaced_on")


class Registry:
    """Typed access to the registry database. One instance per thread or process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = open_database(path, rows=True)
        self._pinned = threading.local()  # one_generation(): per thread, per question
        # PostgreSQL: chunks read during pinned questions, by (generation, chunk id).
        self._chunks_kept: OrderedDict[tuple[int, str], Chunk] = OrderedDict()
        self._chunks_lock = threading.Lock()
        if is_postgres(self.db):
            # Made whole in one locked transaction (kb.postgres); once made, one lookup.
            if self.db.execute("SELECT to_regclass('lexical_stats') AS t").fetchone()[0] is None:
                self.db.executescript(_POSTGRES_SCHEMA)
            if self.db.execute("SELECT to_regclass('ocr_pages') AS t").fetchone()[0] is None:
                self.db.executescript(_OCR_PAGES)  # a schema made before OCR
            ensure_current_terms(self.db)
            return
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(_SQLITE_SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Bring a registry written by an earlier release up to this schema, in place."""
        columns = {r["name"] for r in self.db.execute("PRAGMA table_info(documents)")}
        if "review_by" not in columns:
            self.db.execute("ALTER TABLE documents ADD COLUMN review_by TEXT")
        self._give_versions_dates()
        self._allow_review_states()
        ensure_current_terms(self.db)  # lexical tokens made by an earlier tokenizer

    def _version_columns(self) -> set[str]:
        return {r["name"] for r in self.db.execute("PRAGMA table_info(versions)")}

    def _give_versions_dates(self) -> None:
        """Dates moved from documents to versions: a registry from before gets the columns,
        and each version the dates its document had (one version was live then). Once, in
        one transaction; a process that waited for another's finds the columns and stops."""
        if set(_VERSION_DATES) <= self._version_columns():
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            missing = [c for c in _VERSION_DATES if c not in self._version_columns()]
            for column in missing:
                self.db.execute(f"ALTER TABLE versions ADD COLUMN {column} TEXT")
            if missing:
                self.db.execute(
                    "UPDATE versions SET effective_date = (SELECT d.effective_date FROM documents "
                    "d WHERE d.document_id = versions.document_id), expiry_date = (SELECT "
                    "d.expiry_date FROM documents d WHERE d.document_id = versions.document_id)"
                )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def _allow_review_states(self) -> None:
        """Four-eyes publishing added version states ('draft', 'rejected', 'withdrawn'). A
        registry from before has a CHECK that refuses them, and SQLite cannot alter a
        CHECK: the versions table is rebuilt with the same rows (SQLite's documented
        procedure: foreign keys off, new table, copy, drop, rename, check the keys), once,
        in one transaction; a process that waited for another's finds it done."""
        if self._versions_accept_drafts():
            return
        self.db.execute("PRAGMA foreign_keys=OFF")  # has no effect inside a transaction
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                if not self._versions_accept_drafts():
                    columns = ", ".join(sorted(self._version_columns()))
                    self.db.execute(f"CREATE TABLE versions_new ({_VERSIONS_COLUMNS})")
                    self.db.execute(
                        f"INSERT INTO versions_new ({columns}) SELECT {columns} FROM versions"
                    )
                    self.db.execute("DROP TABLE versions")
                    self.db.execute("ALTER TABLE versions_new RENAME TO versions")
                    broken = self.db.execute("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"versions rebuild broke {len(broken)} references")
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        finally:
            self.db.execute("PRAGMA foreign_keys=ON")

    def _versions_accept_drafts(self) -> bool:
        row = self.db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'versions'"
        ).fetchone()
        return row is not None and "'draft'" in row["sql"]

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: BEGIN IMMEDIATE ... COMMIT, ROLLBACK on any exception. On
        PostgreSQL BEGIN IMMEDIATE also takes the registry's advisory lock (kb.postgres), so
        writers on every replica take turns as they do on one machine's SQLite file."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ------------------------------------------------------------------ meta

    def index_generation(self) -> int:
        """The generation readers should use; inside `one_generation()` on this thread, the
        one read when that began."""
        pinned = getattr(self._pinned, "generation", None)
        if pinned is not None:
            return pinned
        row = self.db.execute("SELECT value FROM meta WHERE key = 'index_generation'").fetchone()
        return int(row["value"]) if row else 0

    @contextmanager
    def one_generation(self) -> Iterator[int]:
        """Read the generation once for a whole question on this thread (Services.ask).

        An ask looks at it about twenty times (every `kb.index`, the catalog, the caches
        keyed by generation): a statement each, a network round trip each on PostgreSQL.
        Pinned, the ask also sees one generation throughout, not a newer one halfway; the
        next ask reads the new one. Nested uses keep the outer pin."""
        if getattr(self._pinned, "generation", None) is not None:
            yield self._pinned.generation
            return
        self._pinned.generation = self.index_generation()
        try:
            yield self._pinned.generation
        finally:
            self._pinned.generation = None

    def set_index_generation(self, generation: int) -> None:
        if getattr(self._pinned, "generation", None) is not None:
            self._pinned.generation = generation  # this thread wrote it: it is current
        self.db.execute(
            "INSERT INTO meta(key, value) VALUES ('index_generation', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (str(generation),),
        )

    # ------------------------------------------------------------------ documents

    def document_row(self, document_id: str) -> sqlite3.Row:
        row = self.db.execute(
            "SELECT * FROM documents WHERE document_id = ?", (document_id,)
        ).fetchone()
        if row is None:
            raise DocumentNotFoundError(f"no document with id '{document_id}' to replace")
        return row

    def find_by_source(self, source_key: str) -> sqlite3.Row | None:
        return self.db.execute(
            "SELECT * FROM documents WHERE source_key = ?", (source_key,)
        ).fetchone()

    def current_hash(self, document_id: str) -> str | None:
        row = self.db.execute(
            "SELECT v.content_hash FROM documents d JOIN versions v "
            "ON v.document_id = d.document_id AND v.version = d.current_version "
            "WHERE d.document_id = ?",
            (document_id,),
        ).fetchone()
        return row["content_hash"] if row else None

    def current_document_with_hash(self, content_hash: str) -> sqlite3.Row | None:
        """The document with a live version (in force or scheduled) of exactly these bytes."""
        return self.db.execute(
            "SELECT d.document_id, d.source_name FROM versions v JOIN documents d "
            "ON d.document_id = v.document_id "
            "WHERE v.content_hash = ? AND v.status = 'current' "
            "AND d.current_version IS NOT NULL LIMIT 1",
            (content_hash,),
        ).fetchone()

    def new_document_id(self, base: str) -> str:
        candidate, n = base, 1
        while self.db.execute(
            "SELECT 1 FROM documents WHERE document_id = ?", (candidate,)
        ).fetchone():
            n += 1
            candidate = f"{base}-{n}"
        return candidate

    def latest_version(self, document_id: str) -> int:
        row = self.db.execute(
            "SELECT MAX(version) AS v FROM versions WHERE document_id = ?", (document_id,)
        ).fetchone()
        return int(row["v"] or 0)

    def upsert_document(self, info: DocumentInfo, source_key: str, live: bool = True) -> None:
        """Write the document's row with `info`; `live=False` for a new document whose first
        version is a draft (no version answers yet: current_version stays empty)."""
        now = _now()
        self.db.execute(
            """
            INSERT INTO documents(document_id, source_key, title, source_name, format, language,
                category, effective_date, expiry_date, groups_json, owner, review_by,
                current_version, created_at, updated_at)
            VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
            ON CONFLICT(document_id) DO UPDATE SET
                title = excluded.title, source_name = excluded.source_name,
                format = excluded.format, language = excluded.language,
                category = excluded.category, effective_date = excluded.effective_date,
                expiry_date = excluded.expiry_date, groups_json = excluded.groups_json,
                owner = excluded.owner, review_by = excluded.review_by,
                current_version = excluded.current_version,
                updated_at = excluded.updated_at
            """,
            (
                info.document_id,
                source_key,
                info.title,
                info.source_name,
                info.format,
                info.language,
                info.category.value,
                info.effective_date.isoformat() if info.effective_date else None,
                info.expiry_date.isoformat() if info.expiry_date else None,
                json.dumps(list(info.groups)),
                info.owner,
                info.review_by.isoformat() if info.review_by else None,
                info.version if live else None,
                now,
                now,
            ),
        )

    def add_version(
        self,
        info: DocumentInfo,
        content_hash: str,
        chunks: Sequence[Chunk],
        page_count: int | None,
        byte_size: int,
        original_path: str | None,
        today: dt.date | None = None,
        draft: bool = False,
        ocr_pages: Sequence[PageConfidence] = (),
    ) -> list[str]:
        """Add a version with its own dates and place it on the document's timeline
        (kb.validity.line_up): a version in force from today or earlier supersedes the
        live ones; a version effective later is scheduled and the one in force stays live
        until then. Returns the chunk ids of the versions it retired, for the index.

        A `draft` (four-eyes publishing, kb.publishing) is stored off the timeline: it
        retires nothing until a reviewer approves it (`approve_draft`)."""
        self.db.execute(
            "INSERT INTO versions(document_id, version, content_hash, source_name, format, "
            "status, ingested_at, chunk_count, page_count, byte_size, original_path, "
            "effective_date, expiry_date) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                info.document_id,
                info.version,
                content_hash,
                info.source_name,
                info.format,
                "draft" if draft else "current",
                _now(),
                len(chunks),
                page_count,
                byte_size,
                original_path,
                _iso(info.effective_date),
                _iso(info.expiry_date),
            ),
        )
        self.db.executemany(
            "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    c.chunk_id,
                    info.document_id,
                    info.version,
                    c.position,
                    c.kind.value,
                    c.text,
                    json.dumps(list(c.section_path), ensure_ascii=False),
                    json.dumps(list(c.pages)),
                    c.language,
                    c.content_hash,
                    json.dumps([list(r) for r in c.table_rows], ensure_ascii=False),
                )
                for c in chunks
            ],
        )
        self.db.executemany(
            "INSERT INTO ocr_pages(document_id, version, page, confidence) VALUES (?,?,?,?)",
            [(info.document_id, info.version, p.page, p.confidence) for p in ocr_pages],
        )
        if draft:
            return []
        return self.line_up_versions(today or dt.date.today(), info.document_id)

    def ocr_pages(self, document_id: str, version: int) -> tuple[PageConfidence, ...]:
        """The OCR confidence of each scanned page of one version, by page."""
        return tuple(
            PageConfidence(r["page"], r["confidence"])
            for r in self.db.execute(
                "SELECT page, confidence FROM ocr_pages WHERE document_id = ? AND version = ? "
                "ORDER BY page",
                (document_id, version),
            )
        )

    def _live_versions(self, document_id: str | None = None) -> dict[str, list[DatedVersion]]:
        """Live versions (in force or scheduled) by document, of one document or all."""
        where, params = ("AND document_id = ?", (document_id,)) if document_id else ("", ())
        live: dict[str, list[DatedVersion]] = {}
        for row in self.db.execute(
            f"SELECT * FROM versions WHERE status = 'current' {where} ORDER BY version", params
        ):
            live.setdefault(row["document_id"], []).append(_dated(row))
        return live

    def line_up_versions(self, today: dt.date, document_id: str | None = None) -> list[str]:
        """Set each live version's `replaced_on` from the versions after it, and retire
        (status 'superseded') those whose successor is in force on `today` or would replace
        them before they start (kb.validity.line_up), for one document or all. Inside the
        caller's transaction; returns the retired versions' chunk ids, to drop from the
        index. Every write runs it (KnowledgeBase.write), so a version whose successor took
        effect leaves the index at the next write; until then the dates keep it out."""
        retired_ids: list[str] = []
        for document, versions in self._live_versions(document_id).items():
            lineup = line_up(versions, today)
            for version in versions:
                if version.version in lineup.retired:
                    self.db.execute(
                        "UPDATE versions SET status = 'superseded', replaced_on = ? "
                        "WHERE document_id = ? AND version = ?",
                        (_iso(lineup.replaced_on[version.version]), document, version.version),
                    )
                    retired_ids += self.chunk_ids(document, version.version)
                elif lineup.replaced_on[version.version] != version.replaced_on:
                    self.db.execute(
                        "UPDATE versions SET replaced_on = ? WHERE document_id = ? AND version = ?",
                        (_iso(lineup.replaced_on[version.version]), document, version.version),
                    )
        return retired_ids

    def add_terms(self, terms: Sequence[tuple[str, str]]) -> None:
        """Searchable tokens (space-separated) for chunks, for the lexical index.

        Terms of superseded versions stay: searches join on the current version, and a
        separate search over earlier versions tells agents when an old version matched."""
        if is_postgres(self.db):
            # One statement for the batch: the statistics triggers (kb.lexical_pg) run once.
            if terms:
                self.db.execute(
                    "INSERT INTO chunk_terms(chunk_id, terms) "
                    "SELECT * FROM unnest(?::text[], ?::text[])",
                    ([t[0] for t in terms], [t[1] for t in terms]),
                )
            return
        self.db.executemany("INSERT INTO chunk_terms(chunk_id, terms) VALUES (?, ?)", terms)

    def chunks_without_terms(self) -> list[tuple[str, str]]:
        """Live chunks the lexical index lacks (a base built before it existed)."""
        rows = self.db.execute(
            "SELECT c.chunk_id, c.text FROM chunks c JOIN versions v "
            "ON v.document_id = c.document_id AND v.version = c.version "
            "WHERE v.status = 'current' AND c.chunk_id NOT IN (SELECT chunk_id FROM chunk_terms)"
        ).fetchall()
        return [(r["chunk_id"], r["text"]) for r in rows]

    def update_metadata(self, info: DocumentInfo, today: dt.date | None = None) -> None:
        """Change what the knowledge team stated (groups, category, dates, owner, review-by)
        without a new version. The dates are those of version `info.version`; the document's
        timeline is placed again (`line_up_versions`: retired vectors leave the index when
        the write ends, KnowledgeBase.write)."""
        self.db.execute(
            "UPDATE documents SET category = ?, groups_json = ?, owner = ?, review_by = ?, "
            "updated_at = ? WHERE document_id = ?",
            (
                info.category.value,
                json.dumps(list(info.groups)),
                info.owner,
                _iso(info.review_by),
                _now(),
                info.document_id,
            ),
        )
        self.db.execute(
            "UPDATE documents SET effective_date = ?, expiry_date = ? "
            "WHERE document_id = ? AND current_version = ?",
            (_iso(info.effective_date), _iso(info.expiry_date), info.document_id, info.version),
        )
        self.db.execute(
            "UPDATE versions SET effective_date = ?, expiry_date = ? "
            "WHERE document_id = ? AND version = ?",
            (_iso(info.effective_date), _iso(info.expiry_date), info.document_id, info.version),
        )
        self.line_up_versions(today or dt.date.today(), info.document_id)

    def mark_deleted(self, document_id: str) -> list[str]:
        """Take a document out of the current view (every live version, scheduled ones too);
        returns the chunk ids to drop from the index."""
        row = self.db.execute(
            "SELECT current_version FROM documents WHERE document_id = ?", (document_id,)
        ).fetchone()
        if row is None or row["current_version"] is None:
            raise DocumentNotFoundError(f"no current document with id '{document_id}'")
        ids = [
            chunk_id
            for version in self._live_versions(document_id).get(document_id, [])
            for chunk_id in self.chunk_ids(document_id, version.version)
        ]
        ids += self.withdraw_drafts(document_id, "the document was deleted")
        self.db.execute(
            "UPDATE versions SET status = 'deleted' WHERE document_id = ? AND status = 'current'",
            (document_id,),
        )
        self.db.execute(
            "UPDATE documents SET current_version = NULL, updated_at = ? WHERE document_id = ?",
            (_now(), document_id),
        )
        return ids

    def purge_document(self, document_id: str) -> PurgedRows:
        """Erase a document, current or deleted, with every version: its chunks' text, their
        lexical terms, its versions and its row. Inside the caller's transaction (`kb docs
        purge`; `mark_deleted` only takes a document out of search).

        On SQLite `PRAGMA secure_delete` is on, so the freed pages are zeroed rather than left
        holding the text. On PostgreSQL the rows are deleted in the transaction, and from its
        commit no query on any replica sees them; their bytes stay on disk: a deleted row is
        only marked dead in its page (and in the indexes, the GIN index of the terms too), and
        a plain VACUUM, by hand or autovacuum, makes that space reusable without overwriting
        it. `rewrite_storage` (VACUUM FULL) writes each table and index anew without them and
        removes the old files; it guarantees no more than that: the freed file blocks are
        not zeroed, and the write-ahead log, its archive and base backups keep the rows until
        they are recycled or expire."""
        row = self.db.execute(
            "SELECT document_id FROM documents WHERE document_id = ?", (document_id,)
        ).fetchone()
        if row is None:
            raise DocumentNotFoundError(f"no document with id '{document_id}' to purge")
        postgres = is_postgres(self.db)
        if not postgres:
            self.db.execute("PRAGMA secure_delete = ON")
        versions = tuple(
            r["version"]
            for r in self.db.execute(
                "SELECT version FROM versions WHERE document_id = ? ORDER BY version",
                (document_id,),
            )
        )
        chunk_ids = tuple(
            r["chunk_id"]
            for r in self.db.execute(
                "SELECT chunk_id FROM chunks WHERE document_id = ? ORDER BY version, position",
                (document_id,),
            )
        )
        names = {
            r["original_path"]
            for r in self.db.execute(
                "SELECT original_path FROM versions WHERE document_id = ? "
                "AND original_path IS NOT NULL",
                (document_id,),
            )
        }
        terms = (lexical_pg.purge_terms if postgres else purge_terms)(self.db, chunk_ids)
        self.db.execute("DELETE FROM chunks WHERE document_id = ?", (document_id,))
        self.db.execute("DELETE FROM ocr_pages WHERE document_id = ?", (document_id,))
        self.db.execute("DELETE FROM versions WHERE document_id = ?", (document_id,))
        self.db.execute("DELETE FROM reviews WHERE document_id = ?", (document_id,))
        self.db.execute("DELETE FROM documents WHERE document_id = ?", (document_id,))
        still_named = self.original_names()
        return PurgedRows(
            document_id,
            versions,
            chunk_ids,
            terms,
            tuple(sorted(n for n in names if n not in still_named)),
        )

    def rewrite_storage(self) -> None:
        """After a purge has committed: rewrite the registry's storage without the space
        deleted rows held (kb.store's scrub). SQLite: VACUUM rewrites the file (the caller
        then checkpoints the write-ahead log). PostgreSQL: VACUUM FULL of each registry table
        writes it and its indexes to new files and drops the old ones, under an exclusive
        lock per table (readers wait for the rewrite: seconds at 100,000 chunks). What this
        does not erase is said in `purge_document`. Outside any transaction."""
        if not is_postgres(self.db):
            self.db.execute("VACUUM")
            return
        for table in _REGISTRY_TABLES:
            self.db.execute(f"VACUUM (FULL, ANALYZE) {table}")

    def original_names(self) -> set[str]:
        """The original files some version still names (in the originals folder)."""
        return {
            r["original_path"]
            for r in self.db.execute(
                "SELECT DISTINCT original_path FROM versions WHERE original_path IS NOT NULL"
            )
        }

    def chunk_ids(self, document_id: str, version: int) -> list[str]:
        rows = self.db.execute(
            "SELECT chunk_id FROM chunks WHERE document_id = ? AND version = ? ORDER BY position",
            (document_id, version),
        ).fetchall()
        return [r["chunk_id"] for r in rows]

    def current_chunk_ids(self) -> list[str]:
        """Chunks of live versions (in force or scheduled) and of drafts awaiting review
        (for the reviewers' preview; retrieval keeps them out of answers): what the vector
        index holds."""
        rows = self.db.execute(
            "SELECT c.chunk_id FROM chunks c JOIN versions v ON v.document_id = c.document_id "
            "AND v.version = c.version WHERE v.status IN ('current', 'draft') "
            "ORDER BY c.document_id, c.version, c.position"
        ).fetchall()
        return [r["chunk_id"] for r in rows]

    # ------------------------------------------------------------------ reading

    @staticmethod
    def _document_fields(row: sqlite3.Row) -> dict:
        """What DocumentInfo and DocumentRecord both read from a documents row."""
        return {
            "document_id": row["document_id"],
            "title": row["title"],
            "source_name": row["source_name"],
            "format": row["format"],
            "language": row["language"],
            "category": Category(row["category"]),
            "effective_date": _date(row["effective_date"]),
            "expiry_date": _date(row["expiry_date"]),
            "groups": tuple(json.loads(row["groups_json"])),
            "owner": row["owner"],
            "review_by": _date(row["review_by"]),
        }

    def _version_row(self, document_id: str, version: int) -> sqlite3.Row | None:
        return self.db.execute(
            "SELECT * FROM versions WHERE document_id = ? AND version = ?", (document_id, version)
        ).fetchone()

    def _info(self, row: sqlite3.Row, version: int, dates: sqlite3.Row | None) -> DocumentInfo:
        """A version's metadata: the document's, with the version's own dates (`dates`, its
        versions row; a document's dates when the version is unknown)."""
        fields = self._document_fields(row)
        if dates is not None:
            fields["effective_date"] = _date(dates["effective_date"])
            fields["expiry_date"] = _date(dates["expiry_date"])
            fields["replaced_on"] = _date(dates["replaced_on"])
        return DocumentInfo(version=version, **fields)

    def document_info(
        self, document_id: str, version: int | None = None, as_of: dt.date | None = None
    ) -> DocumentInfo:
        """Metadata of `version`, or of the version in force on `as_of` (default today;
        kb.validity.in_force), or of the latest version of a deleted document."""
        row = self.db.execute(
            "SELECT * FROM documents WHERE document_id = ?", (document_id,)
        ).fetchone()
        if row is None:
            raise DocumentNotFoundError(f"no document with id '{document_id}'")
        if version is None:
            answering = in_force(
                self._live_versions(document_id).get(document_id, []), as_of or dt.date.today()
            )
            version = answering.version if answering else None
        if version is None:
            version = row["current_version"] or self.latest_version(document_id)
        return self._info(row, version, self._version_row(document_id, version))

    def head_info(self, document_id: str) -> DocumentInfo:
        """Metadata of the newest version (`documents.current_version`), scheduled or not."""
        row = self.document_row(document_id)
        version = row["current_version"] or self.latest_version(document_id)
        return self.document_info(document_id, version=version)

    def live_infos(
        self, preview: bool = False, today: dt.date | None = None
    ) -> dict[tuple[str, int], DocumentInfo]:
        """Metadata of every live version (in force or scheduled), by (document, version).

        With `preview`, drafts awaiting review too, each document's versions placed on the
        timeline as if its draft were approved on `today` (kb.validity.line_up): the draft
        answers from its effective date (or today) and the version it replaces stops
        answering then, the same dates filter a scheduled version goes through."""
        if not preview:
            documents = {
                r["document_id"]: r
                for r in self.db.execute(
                    "SELECT * FROM documents WHERE current_version IS NOT NULL"
                )
            }
            return {
                (v["document_id"], v["version"]): self._info(
                    documents[v["document_id"]], v["version"], v
                )
                for v in self.db.execute("SELECT * FROM versions WHERE status = 'current'")
                if v["document_id"] in documents
            }
        documents = {r["document_id"]: r for r in self.db.execute("SELECT * FROM documents")}
        rows: dict[str, list[sqlite3.Row]] = {}
        for v in self.db.execute(
            "SELECT * FROM versions WHERE status IN ('current', 'draft') ORDER BY version"
        ):
            rows.setdefault(v["document_id"], []).append(v)
        infos: dict[tuple[str, int], DocumentInfo] = {}
        for document, versions in rows.items():
            if document not in documents:
                continue
            lineup = line_up([_dated(v) for v in versions], today or dt.date.today())
            for v in versions:
                info = self._info(documents[document], v["version"], v)
                infos[(document, v["version"])] = replace(
                    info, replaced_on=lineup.replaced_on[v["version"]]
                )
        return infos

    def chunks_by_id(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        """Chunks with their document's current metadata, for the ids given (any order)."""
        generation = getattr(self._pinned, "generation", None)
        if generation is not None and is_postgres(self.db):
            return self._kept_chunks(generation, chunk_ids)
        return self._read_chunks(chunk_ids)

    def _kept_chunks(self, generation: int, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        """`chunks_by_id` during a pinned question on PostgreSQL (one_generation): chunks
        already read under the same generation are not read again. An ask reads chunks
        ~5.6 times, mostly the same ones (the hits, the context's best, the rendering's,
        the answer's), each three statements: 5.6 ms an ask at 100,000 chunks. A chunk's
        row never changes; its document's and version's metadata change only in a write,
        and every write ticks the generation, so a chunk kept under the pinned generation
        is what reading it again would give."""
        found: dict[str, Chunk] = {}
        with self._chunks_lock:
            for chunk_id in chunk_ids:
                chunk = self._chunks_kept.get((generation, chunk_id))
                if chunk is not None:
                    found[chunk_id] = chunk
        missing = [c for c in dict.fromkeys(chunk_ids) if c not in found]
        if missing:
            read = self._read_chunks(missing)
            with self._chunks_lock:
                for chunk_id, chunk in read.items():
                    self._chunks_kept[(generation, chunk_id)] = chunk
                while len(self._chunks_kept) > _CHUNKS_KEPT:
                    self._chunks_kept.popitem(last=False)
            found.update(read)
        return found

    def _read_chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        rows: list[sqlite3.Row] = []
        for start in range(0, len(chunk_ids), 500):
            batch = list(chunk_ids[start : start + 500])
            marks = ",".join("?" * len(batch))
            rows += self.db.execute(
                f"SELECT * FROM chunks WHERE chunk_id IN ({marks})", batch
            ).fetchall()
        document_ids = sorted({r["document_id"] for r in rows})
        if not document_ids:  # `IN ()` is SQLite's, not PostgreSQL's
            return {}
        documents = {
            d["document_id"]: d
            for d in self.db.execute(
                f"SELECT * FROM documents WHERE document_id IN ({','.join('?' * len(document_ids))})",
                document_ids,
            )
        }
        # Every version row of those documents in one statement (was one per version: ~17
        # statements an ask, each a round trip on PostgreSQL), picked by key below.
        version_rows = {
            (v["document_id"], v["version"]): v
            for v in self.db.execute(
                f"SELECT * FROM versions WHERE document_id IN ({','.join('?' * len(document_ids))})",
                document_ids,
            )
        }
        infos: dict[tuple[str, int], DocumentInfo] = {}
        out: dict[str, Chunk] = {}
        for row in rows:
            key = (row["document_id"], row["version"])
            if key not in infos:
                infos[key] = self._info(
                    documents[row["document_id"]], row["version"], version_rows.get(key)
                )
            out[row["chunk_id"]] = Chunk(
                chunk_id=row["chunk_id"],
                document=infos[key],
                position=row["position"],
                kind=ChunkKind(row["kind"]),
                text=row["text"],
                section_path=tuple(json.loads(row["section_path_json"])),
                pages=tuple(json.loads(row["pages_json"])),
                language=row["language"],
                content_hash=row["content_hash"],
                table_rows=tuple(tuple(r) for r in json.loads(row["table_rows_json"])),
            )
        return out

    def versions(self, document_id: str) -> tuple[VersionRecord, ...]:
        rows = self.db.execute(
            "SELECT * FROM versions WHERE document_id = ? ORDER BY version", (document_id,)
        ).fetchall()
        return tuple(
            VersionRecord(
                document_id=r["document_id"],
                version=r["version"],
                content_hash=r["content_hash"],
                source_name=r["source_name"],
                format=r["format"],
                status=r["status"],
                ingested_at=r["ingested_at"],
                chunk_count=r["chunk_count"],
                page_count=r["page_count"],
                byte_size=r["byte_size"],
                effective_date=_date(r["effective_date"]),
                expiry_date=_date(r["expiry_date"]),
                replaced_on=_date(r["replaced_on"]),
            )
            for r in rows
        )

    def original_paths(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], str | None]:
        """`original_path` of several (document id, version) keys in one statement."""
        wanted = set(keys)
        if not wanted:
            return {}
        document_ids = sorted({document_id for document_id, _ in wanted})
        found = {
            (r["document_id"], r["version"]): r["original_path"]
            for r in self.db.execute(
                "SELECT document_id, version, original_path FROM versions "
                f"WHERE document_id IN ({','.join('?' * len(document_ids))})",
                document_ids,
            )
        }
        return {key: found.get(key) for key in wanted}

    def original_path(self, document_id: str, version: int) -> str | None:
        row = self.db.execute(
            "SELECT original_path FROM versions WHERE document_id = ? AND version = ?",
            (document_id, version),
        ).fetchone()
        return row["original_path"] if row else None

    def documents(
        self, include_deleted: bool = False, today: dt.date | None = None
    ) -> list[DocumentRecord]:
        """Every document (deleted ones too, on request), each as of `today` (default: the
        date): the version in force and its dates, and the version scheduled after it."""
        # A document whose only versions are drafts or rejected ones was never published:
        # it is listed among the drafts (`drafts`), not here, not even as deleted.
        where = (
            "WHERE d.current_version IS NOT NULL OR NOT EXISTS (SELECT 1 FROM versions p WHERE "
            "p.document_id = d.document_id AND p.status IN ('draft', 'rejected', 'withdrawn')) "
            "OR EXISTS (SELECT 1 FROM versions p WHERE p.document_id = d.document_id "
            "AND p.status IN ('current', 'superseded', 'deleted'))"
            if include_deleted
            else "WHERE d.current_version IS NOT NULL"
        )
        rows = self.db.execute(f"SELECT d.* FROM documents d {where} ORDER BY d.title").fetchall()
        live = self._live_versions()
        pending = self._pending_drafts()
        scanned: dict[tuple[str, int], tuple[PageConfidence, ...]] = {}
        for r in self.db.execute(
            "SELECT document_id, version, page, confidence FROM ocr_pages "
            "ORDER BY document_id, version, page"
        ):
            key = (r["document_id"], r["version"])
            scanned[key] = (*scanned.get(key, ()), PageConfidence(r["page"], r["confidence"]))
        return [
            self._record(r, live.get(r["document_id"], []), today, (), pending, scanned)
            for r in rows
        ]

    def document(self, document_id: str, today: dt.date | None = None) -> DocumentRecord:
        row = self.db.execute(
            "SELECT * FROM documents WHERE document_id = ?", (document_id,)
        ).fetchone()
        if row is None:
            raise DocumentNotFoundError(f"no document with id '{document_id}'")
        live = self._live_versions(document_id).get(document_id, [])
        return self._record(
            row, live, today, self.versions(document_id), self._pending_drafts(document_id)
        )

    def _record(
        self,
        row: sqlite3.Row,
        live: list[DatedVersion],
        today: dt.date | None,
        versions: tuple[VersionRecord, ...] = (),
        pending: dict[str, int] | None = None,
        scanned: dict[tuple[str, int], tuple[PageConfidence, ...]] | None = None,
    ) -> DocumentRecord:
        today = today or dt.date.today()
        fields = self._document_fields(row)
        current = in_force(live, today) if row["current_version"] is not None else None
        version = current.version if current else row["current_version"]
        if current is not None:
            fields["effective_date"] = current.effective_date
            fields["expiry_date"] = current.expiry_date
        scheduled = scheduled_after(live, current, today)
        n_chunks = 0
        if version is not None:
            n_chunks = self.db.execute(
                "SELECT COUNT(*) FROM chunks WHERE document_id = ? AND version = ?",
                (row["document_id"], version),
            ).fetchone()[0]
        return DocumentRecord(
            **fields,
            current_version=version,
            chunk_count=n_chunks,
            updated_at=row["updated_at"],
            versions=versions,
            scheduled_version=scheduled.version if scheduled else None,
            scheduled_from=scheduled.effective_date if scheduled else None,
            draft_version=(pending or {}).get(row["document_id"]),
            ocr_pages=(
                ()
                if version is None
                else scanned.get((row["document_id"], version), ())
                if scanned is not None
                else self.ocr_pages(row["document_id"], version)
            ),
        )

    # ------------------------------------------------------------------ four-eyes publishing

    def _pending_drafts(self, document_id: str | None = None) -> dict[str, int]:
        """The version awaiting review, by document (one at most: a newer draft withdraws
        the older one)."""
        where, params = ("AND document_id = ?", (document_id,)) if document_id else ("", ())
        return {
            r["document_id"]: r["version"]
            for r in self.db.execute(
                f"SELECT document_id, version FROM versions WHERE status = 'draft' {where}",
                params,
            )
        }

    def pending_draft_hash(self, document_id: str) -> tuple[int, str] | None:
        """(version, content hash) of the document's draft awaiting review, if any."""
        row = self.db.execute(
            "SELECT version, content_hash FROM versions WHERE document_id = ? AND status = 'draft'",
            (document_id,),
        ).fetchone()
        return (row["version"], row["content_hash"]) if row else None

    def submit_draft(self, info: DocumentInfo, submitted_by: str) -> None:
        """Record who submitted version `info.version` (added with `draft=True`) and the
        metadata it takes when approved: the documents row keeps the live version's until
        then, so a pending draft changes nothing agents see."""
        self.db.execute(
            "INSERT INTO reviews(document_id, version, submitted_by, submitted_at, info_json, "
            "state) VALUES (?,?,?,?,?, 'draft')",
            (info.document_id, info.version, submitted_by, _now(), _info_json(info)),
        )

    def withdraw_drafts(self, document_id: str, reason: str, keep: int | None = None) -> list[str]:
        """Withdraw the document's drafts awaiting review (but `keep`): a newer draft or a
        version published directly replaces them. Returns their chunk ids, for the index."""
        ids: list[str] = []
        for version in self._pending_drafts(document_id).values():
            if version == keep:
                continue
            self._decide(document_id, version, "withdrawn", None, reason)
            ids += self.chunk_ids(document_id, version)
        return ids

    def _decide(
        self, document_id: str, version: int, state: str, reviewer: str | None, comment: str
    ) -> None:
        status = {"approved": "current", "rejected": "rejected", "withdrawn": "withdrawn"}[state]
        self.db.execute(
            "UPDATE versions SET status = ? WHERE document_id = ? AND version = ?",
            (status, document_id, version),
        )
        self.db.execute(
            "UPDATE reviews SET state = ?, reviewer = ?, comment = ?, decided_at = ? "
            "WHERE document_id = ? AND version = ?",
            (state, reviewer, comment, _now(), document_id, version),
        )

    def approve_draft(
        self, document_id: str, version: int, reviewer: str, comment: str, today: dt.date
    ) -> list[str]:
        """Publish a draft: it becomes live with the metadata it was submitted with, and
        takes its place on the timeline as a new version does (a version in force from
        today retires the one before; one effective later is scheduled). Inside the
        caller's transaction; returns the retired versions' chunk ids, for the index."""
        review = self._review_row(document_id, version)
        info = _info_from_json(review["info_json"])
        source_key = self.document_row(document_id)["source_key"]
        self._decide(document_id, version, "approved", reviewer, comment)
        self.upsert_document(info, source_key)
        return self.line_up_versions(today, document_id)

    def reject_draft(
        self, document_id: str, version: int, reviewer: str, comment: str
    ) -> list[str]:
        """Reject a draft: the version in force stays; the draft's rows stay (for the
        record and the diff) but leave the index. Returns its chunk ids."""
        self._review_row(document_id, version)
        self._decide(document_id, version, "rejected", reviewer, comment)
        return self.chunk_ids(document_id, version)

    def _review_row(self, document_id: str, version: int) -> sqlite3.Row:
        row = self.db.execute(
            "SELECT * FROM reviews WHERE document_id = ? AND version = ?", (document_id, version)
        ).fetchone()
        if row is None:
            raise DocumentNotFoundError(
                f"version {version} of '{document_id}' was not submitted for review"
            )
        return row

    def drafts(
        self, states: Sequence[str] = ("draft",), today: dt.date | None = None
    ) -> list[Draft]:
        """Versions submitted for review in `states`, newest first, each with the version in
        force it would replace and the document's groups (for the access rule)."""
        marks = ",".join("?" * len(states))
        rows = self.db.execute(
            f"SELECT r.*, v.effective_date AS version_effective, v.chunk_count FROM reviews r "
            f"JOIN versions v ON v.document_id = r.document_id AND v.version = r.version "
            f"WHERE r.state IN ({marks}) ORDER BY r.submitted_at DESC, r.document_id",
            tuple(states),
        ).fetchall()
        live = self._live_versions()
        out = []
        for r in rows:
            info = _info_from_json(r["info_json"])
            answering = in_force(live.get(r["document_id"], []), today or dt.date.today())
            out.append(
                Draft(
                    document_id=r["document_id"],
                    version=r["version"],
                    title=info.title,
                    source_name=info.source_name,
                    submitted_by=r["submitted_by"],
                    submitted_at=r["submitted_at"],
                    state=ReviewState(r["state"]),
                    live_version=answering.version if answering else None,
                    effective_date=_date(r["version_effective"]),
                    chunk_count=r["chunk_count"],
                    reviewer=r["reviewer"],
                    comment=r["comment"],
                    decided_at=r["decided_at"],
                    groups=info.groups,
                )
            )
        return out


def _info_json(info: DocumentInfo) -> str:
    """A version's metadata as JSON (what an approved draft's document row becomes), by
    kb.plain like the session store's records. `replaced_on` is not kept: it belongs to the
    versions' dates (kb.validity), worked out again when the draft is approved."""
    return json.dumps(to_plain(replace(info, replaced_on=None)), ensure_ascii=False)


def _info_from_json(text: str) -> DocumentInfo:
    return from_plain(DocumentInfo, json.loads(text))
